"""`inferwatch actions ...`: Alertmanager webhook receiver: scale and retrain actions."""

from __future__ import annotations

import typer

from inferwatch.cli_support import ConfigOption, serve, settings_from

app = typer.Typer(
    help="Alertmanager webhook receiver: scale and retrain actions.", no_args_is_help=True
)


@app.command("serve")
def serve_command(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Run the actions part as its own service."""
    serve(settings_from(ctx, config), ["actions"])
