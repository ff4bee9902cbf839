"""`inferwatch collector ...`: Ingest prediction records."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from inferwatch.cli_support import (
    ConfigOption,
    HostOption,
    JsonFlag,
    PortOption,
    emit,
    guarded,
    listen_on,
    serve,
    settings_from,
)

app = typer.Typer(help="Ingest prediction records.", no_args_is_help=True)


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Run the collector part as its own service."""
    serve(settings_from(ctx, config, **listen_on(host, port)), ["collector"])


@app.command("windows")
def windows_command(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model name.")],
    limit: Annotated[int, typer.Option(min=1, help="Newest windows to list.")] = 20,
    as_json: JsonFlag = False,
    config: ConfigOption = None,
) -> None:
    """List a model's windows (newest first) from the state store."""
    settings = settings_from(ctx, config)

    def read() -> list[dict[str, Any]]:
        from inferwatch.collector.windows import WindowStore
        from inferwatch.storage import open_storage

        store = open_storage(settings.storage_url())
        try:
            store.migrate()
            windows = WindowStore(
                store,
                window_seconds=settings.collector.window_seconds,
                reservoir_size=settings.collector.reservoir_size,
                retention_windows=settings.collector.retention_windows,
            )
            return [w.to_dict() for w in windows.windows(model, limit=limit)]
        finally:
            store.close()

    rows = guarded(read)
    emit(
        {"model": model, "windows": rows},
        as_json,
        lambda data: (
            "\n".join(
                f"{w['start']}  {w['end']}  rows={w['rows']}  sampled={w['sampled']}"
                f"{'' if w['closed'] else '  (open)'}"
                for w in data["windows"]
            )
            or f"no windows for {model}"
        ),
    )
