"""The ``inferwatch`` command: ``inferwatch <part> <verb>``, ``--help`` everywhere.

Each part owns its sub-command in its own ``cli`` module, found through
``registry.CLI_GROUPS`` and imported only when that sub-command runs; this file
holds the verbs that concern the whole product (``up``, ``version``, ``config``);
``demo`` lives in its own package (``inferwatch.demo.cli``), registered the same way.
So ``inferwatch --help`` imports no part, and part CLIs keep heavy imports inside
their verbs (``bench/startup.py`` measures it).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Annotated

# Plain help pages, as native tools print them: rich's panels cost ~0.1 s of start-up
# on every call (TYPER_USE_RICH=1 brings them back). Read by typer when it is imported.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer

from inferwatch import __version__
from inferwatch.cli_lazy import lazy_group
from inferwatch.cli_support import ConfigOption, JsonFlag, emit, serve, settings_from
from inferwatch.registry import CLI_GROUPS

app = typer.Typer(
    name="inferwatch",
    help="Observability and drift monitoring for AI inference.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=lazy_group(CLI_GROUPS),
)
config_app = typer.Typer(help="Inspect and validate settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@app.callback()
def root(
    ctx: typer.Context,
    config: ConfigOption = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            help="Logs as json or text (else log_format; auto: text at a terminal).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Observability and drift monitoring for AI inference."""
    ctx.obj = {"config": config, "overrides": {"log_format": log_format} if log_format else {}}


@app.command()
def version(as_json: JsonFlag = False) -> None:
    """Print the inferwatch version."""
    data = {"inferwatch": __version__, "python": platform.python_version()}
    emit(data, as_json, human=lambda d: f"inferwatch {d['inferwatch']}")


@app.command()
def up(
    ctx: typer.Context,
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Override server.host.")] = None,
    port: Annotated[int | None, typer.Option(help="Override server.port.")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Override data_dir.")] = None,
) -> None:
    """Run every enabled part in one process on embedded defaults (SQLite, in-process windows)."""
    overrides: dict[str, object] = {}
    server: dict[str, object] = {}
    if host is not None:
        server["host"] = host
    if port is not None:
        server["port"] = port
    if server:
        overrides["server"] = server
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    from inferwatch.extras import require_server
    from inferwatch.httputil import redact_url
    from inferwatch.parts import enabled_parts

    require_server()
    settings = settings_from(ctx, config, **overrides)
    parts = enabled_parts(settings)
    typer.echo(
        f"inferwatch {__version__}: {', '.join(parts)} on {settings.server.base_url()} "
        f"(state in {redact_url(settings.storage_url())})",
        err=True,
    )
    serve(settings, parts, own_port=False)


@config_app.command("show")
def config_show(ctx: typer.Context, config: ConfigOption = None, as_json: JsonFlag = False) -> None:
    """Print the effective settings (secrets, URL credentials and header values masked)."""
    import yaml

    from inferwatch.httputil import redact_settings

    settings = settings_from(ctx, config)
    shown = redact_settings(settings.model_dump(mode="json"))
    emit(shown, as_json, human=lambda d: yaml.safe_dump(d).rstrip())


@config_app.command("check")
def config_check(
    ctx: typer.Context, config: ConfigOption = None, as_json: JsonFlag = False
) -> None:
    """Validate settings; exit 2 with the problems when they are invalid."""
    from inferwatch.parts import enabled_parts
    from inferwatch.registry import PART_BUILDERS

    settings = settings_from(ctx, config)
    data = {"valid": True, "parts": enabled_parts(settings), "known_parts": list(PART_BUILDERS)}
    emit(data, as_json, human=lambda d: f"settings valid; parts: {', '.join(d['parts'])}")


@config_app.command("reference")
def config_reference(
    out: Annotated[Path | None, typer.Option(help="Write the Markdown here.")] = None,
) -> None:
    """Print (or write) the configuration reference: every setting, its variable and default."""
    from inferwatch.config_reference import reference

    text = reference()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)


def main() -> None:
    """Console-script entry point; on the lean install a service's verb says what to install."""
    from inferwatch.extras import missing_server_extra

    try:
        app()
    except ModuleNotFoundError as exc:
        message = missing_server_extra(exc)
        if message is None:
            raise
        typer.echo(f"error: {message}", err=True)
        raise SystemExit(2) from None
