"""`inferwatch drift ...`: Baselines, drift checks and the drift engine."""

from __future__ import annotations

import typer

from inferwatch.cli_support import ConfigOption, serve, settings_from

app = typer.Typer(help="Baselines, drift checks and the drift engine.", no_args_is_help=True)


@app.command("serve")
def serve_command(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Run the drift part as its own service."""
    serve(settings_from(ctx, config), ["drift"])
