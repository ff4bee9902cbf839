"""`inferwatch drift ...`: baselines, drift checks and the drift engine service."""

from __future__ import annotations

import typer

from inferwatch.cli_support import (
    ConfigOption,
    HostOption,
    PortOption,
    listen_on,
    serve,
    settings_from,
)
from inferwatch.drift.cli_baseline import app as baseline_app
from inferwatch.drift.cli_baseline import evaluate
from inferwatch.drift.cli_check import check

app = typer.Typer(help="Baselines, drift checks and the drift engine.", no_args_is_help=True)
app.add_typer(baseline_app, name="baseline")
app.command("check")(check)
app.command("evaluate")(evaluate)


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Run the drift engine as its own service."""
    serve(settings_from(ctx, config, **listen_on(host, port)), ["drift"])
