"""`inferwatch exporter ...`: GPU exporter and inference instrumentation."""

from __future__ import annotations

import typer

from inferwatch.cli_support import ConfigOption, serve, settings_from

app = typer.Typer(help="GPU exporter and inference instrumentation.", no_args_is_help=True)


@app.command("serve")
def serve_command(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Run the gpu-exporter part as its own service."""
    serve(settings_from(ctx, config), ["gpu-exporter"])
