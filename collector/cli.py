"""`inferwatch collector ...`: Ingest prediction records."""

from __future__ import annotations

import typer

from inferwatch.cli_support import ConfigOption, serve, settings_from

app = typer.Typer(help="Ingest prediction records.", no_args_is_help=True)


@app.command("serve")
def serve_command(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Run the collector part as its own service."""
    serve(settings_from(ctx, config), ["collector"])
