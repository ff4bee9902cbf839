"""`inferwatch dashboards ...`: generate, check and push the Grafana dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from inferwatch.cli_support import EXIT_ERROR, ConfigOption, JsonFlag, emit, fail, settings_from

app = typer.Typer(
    help="Grafana dashboards as code: generate, check and push.", no_args_is_help=True
)


@app.command("generate")
def generate_command(
    check: Annotated[bool, typer.Option(help="Only compare; exit 1 if out of date.")] = False,
    directory: Annotated[
        Path | None,
        typer.Option(help="Where the JSON goes (else ./dashboards/generated of a checkout)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write dashboards/generated/*.json of this checkout (or --directory) from the code."""
    from inferwatch.dashboards import catalog

    target = directory or _checkout_dir()
    if check:
        out_of_date = catalog.stale(target)
        emit({"stale": out_of_date}, as_json, human=lambda d: "\n".join(d["stale"]) or "up to date")
        if out_of_date:
            fail("generated dashboards are out of date; run `inferwatch dashboards generate`", 1)
        return
    written = catalog.generate(target)
    emit({"written": [str(p) for p in written]}, as_json, human=lambda d: "\n".join(d["written"]))


def _checkout_dir() -> Path:
    """``dashboards/generated`` under the working directory: never the installed package."""
    here = Path("dashboards/generated")
    if not here.is_dir():
        fail(
            f"no {here} under {Path.cwd()}: run this in a checkout of inferwatch or pass "
            "--directory DIR"
        )
    return here


@app.command("list")
def list_command(as_json: JsonFlag = False) -> None:
    """List the dashboards and how many queries each has."""
    from inferwatch.dashboards import catalog, queries

    data = {
        uid: {"title": model["title"], "queries": len(queries.panel_queries(model))}
        for uid, model in ((uid, catalog.render(uid)) for uid in catalog.BUILDERS)
    }
    emit(
        data,
        as_json,
        human=lambda d: "\n".join(
            f"{k}: {v['title']} ({v['queries']} queries)" for k, v in d.items()
        ),
    )


@app.command("push")
def push_command(
    ctx: typer.Context,
    config: ConfigOption = None,
    url: Annotated[
        str | None, typer.Option(help="Grafana URL (else dashboards.grafana_url).")
    ] = None,
    folder: Annotated[
        str | None, typer.Option(help="Folder title (else dashboards.folder).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create the folder and upsert every dashboard in Grafana (idempotent)."""
    from inferwatch.dashboards import catalog
    from inferwatch.dashboards.push import PushError, push

    settings = settings_from(ctx, config).dashboards
    grafana_url = url or settings.grafana_url
    if not grafana_url:
        fail("no Grafana URL: pass --url or set dashboards.grafana_url", EXIT_ERROR)
    token = settings.grafana_token.get_secret_value() if settings.grafana_token else None
    try:
        result = push(
            grafana_url,
            catalog.load_generated(),
            token=token,
            folder=folder or settings.folder,
        )
    except PushError as exc:
        fail(str(exc))
    emit(
        {
            "folder_uid": result.folder_uid,
            "folder_created": result.folder_created,
            "dashboards": list(result.dashboards),
        },
        as_json,
        human=lambda d: f"pushed {len(d['dashboards'])} dashboards into folder {d['folder_uid']}",
    )


@app.command("render")
def render_command(
    prometheus_url: Annotated[str, typer.Argument(help="Prometheus base URL to query.")],
    out_dir: Annotated[Path, typer.Option(help="Where the PNGs go.")] = Path("docs/images"),
    minutes: Annotated[float, typer.Option(help="Time range to plot.")] = 10,
) -> None:
    """Plot every dashboard's panels from a live Prometheus into PNG files."""
    from inferwatch.dashboards import catalog
    from inferwatch.dashboards.render import render_dashboard

    for uid, model in catalog.load_generated().items():
        path = render_dashboard(model, prometheus_url, out_dir / f"{uid}.png", minutes=minutes)
        typer.echo(str(path))
