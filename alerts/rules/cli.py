"""`inferwatch rules ...`: Rule groups, their evaluation and export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inferwatch.alerts.rules._export import ExportFormat, export_groups, unresolved_external_urls
from inferwatch.alerts.rules.model import (
    RuleGroup,
    convention_problems,
    default_rule_files,
    load_rule_files,
)
from inferwatch.cli_support import (
    EXIT_FINDING,
    ConfigOption,
    HostOption,
    JsonFlag,
    PortOption,
    emit,
    fail,
    guarded,
    listen_on,
    serve,
    settings_from,
)

app = typer.Typer(help="Rule groups, their evaluation and export.", no_args_is_help=True)

RuleFilesOption = Annotated[
    list[Path] | None,
    typer.Option("--rule-file", "-f", help="Rule file to include (repeatable).", exists=True),
]
NoDefaultsOption = Annotated[
    bool, typer.Option("--no-defaults", help="Leave out the rule groups shipped with inferwatch.")
]


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Run the rules part as its own service."""
    serve(settings_from(ctx, config, **listen_on(host, port)), ["rules"])


def _groups(
    ctx: typer.Context, config: Path | None, rule_files: list[Path] | None, no_defaults: bool
) -> list[RuleGroup]:
    """Groups from the CLI's files, else from settings (defaults plus alerts.rules.rule_files)."""
    settings = settings_from(ctx, config).alerts.rules
    files = list(rule_files or settings.rule_files)
    if not no_defaults and settings.include_default_rules:
        files = default_rule_files() + files
    return guarded(lambda: load_rule_files(files))


@app.command("export")
def export_command(
    ctx: typer.Context,
    *,
    fmt: Annotated[
        str, typer.Option("--format", help="prometheusrule (Prometheus Operator) or rulefile.")
    ] = "rulefile",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    name: Annotated[str, typer.Option(help="PrometheusRule metadata.name.")] = "inferwatch-rules",
    namespace: Annotated[str | None, typer.Option(help="PrometheusRule namespace.")] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(help="PrometheusRule label KEY=VALUE (repeatable), e.g. release=prom."),
    ] = None,
    report_base_url: Annotated[
        str | None,
        typer.Option(
            help="inferwatch's public URL, replacing {{ $externalURL }} in annotations "
            "(Prometheus's own $externalURL would point at Prometheus). Default: "
            "alerts.rules.external_url, else server.public_url, else left as is."
        ),
    ] = None,
    rule_file: RuleFilesOption = None,
    no_defaults: NoDefaultsOption = False,
    config: ConfigOption = None,
) -> None:
    """Write the rule groups as a PrometheusRule resource or a plain rule file."""
    if fmt not in ("prometheusrule", "rulefile"):
        fail(f"--format must be prometheusrule or rulefile, got {fmt!r}")
    labels: dict[str, str] = {}
    for item in label or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--label must be KEY=VALUE, got {item!r}")
        labels[key] = value
    groups = _groups(ctx, config, rule_file, no_defaults)
    if report_base_url is None:
        settings = settings_from(ctx, config)
        report_base_url = settings.alerts.rules.external_url or settings.server.public_url
    fmt_checked: ExportFormat = "prometheusrule" if fmt == "prometheusrule" else "rulefile"
    text = guarded(
        lambda: export_groups(
            groups,
            fmt_checked,
            name=name,
            namespace=namespace,
            labels=labels,
            report_base_url=report_base_url,
        )
    )
    unresolved = [] if report_base_url else unresolved_external_urls(groups)
    if unresolved:
        typer.echo(
            f"warning: {len(unresolved)} rules keep {{{{ $externalURL }}}} in their annotations "
            f"({', '.join(unresolved[:3])}{', ...' if len(unresolved) > 3 else ''}); Prometheus "
            "fills it with its own URL, so report links would point at Prometheus: pass "
            "--report-base-url or set alerts.rules.external_url or server.public_url",
            err=True,
        )
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(
            f"wrote {sum(len(g.rules) for g in groups)} rules in {len(groups)} groups to {output}",
            err=True,
        )


@app.command("check")
def check_command(
    files: Annotated[list[Path], typer.Argument(help="Rule files to check.", exists=True)],
    as_json: JsonFlag = False,
) -> None:
    """Parse rule files and check inferwatch's label and annotation conventions.

    Exit 0 when clean, 1 when a convention is broken, 2 when a file is invalid.
    """
    groups = guarded(lambda: load_rule_files(files))
    problems = convention_problems(groups)
    emit(
        {
            "files": [str(f) for f in files],
            "groups": len(groups),
            "rules": sum(len(g.rules) for g in groups),
            "problems": problems,
        },
        as_json,
        human=lambda d: (
            "\n".join(d["problems"]) or f"ok: {d['rules']} rules in {d['groups']} groups"
        ),
    )
    if problems:
        raise typer.Exit(EXIT_FINDING)


@app.command("list")
def list_command(
    ctx: typer.Context,
    rule_file: RuleFilesOption = None,
    no_defaults: NoDefaultsOption = False,
    config: ConfigOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List the rule groups the service would evaluate."""
    groups = _groups(ctx, config, rule_file, no_defaults)
    data = [
        {
            "group": g.name,
            "file": g.source,
            "interval_seconds": g.interval_seconds,
            "rules": [
                {
                    "alert": r.name,
                    "for_seconds": r.hold_seconds,
                    "keep_firing_for_seconds": r.keep_firing_seconds,
                    "severity": r.labels.get("severity"),
                    "action": r.labels.get("action"),
                }
                for r in g.rules
            ],
        }
        for g in groups
    ]
    emit(
        data,
        as_json,
        human=lambda d: "\n".join(
            f"{g['group']}: " + ", ".join(r["alert"] for r in g["rules"]) for g in d
        ),
    )
