"""`inferwatch exporter ...`: GPU exporter and inference instrumentation."""

from __future__ import annotations

from typing import Annotated

import typer

from inferwatch.cli_support import (
    ConfigOption,
    HostOption,
    JsonFlag,
    PortOption,
    bind,
    emit,
    listen_on,
    settings_from,
    with_part_port,
)

app = typer.Typer(help="GPU exporter and inference instrumentation.", no_args_is_help=True)
gpu_app = typer.Typer(help="The NVML GPU exporter.", no_args_is_help=True)
app.add_typer(gpu_app, name="gpu")


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Run the GPU exporter as its own service (/metrics, /healthz, /readyz; no server extra)."""
    from inferwatch.exporters.gpu.server import PART, serve
    from inferwatch.logs import configure_logging

    settings = settings_from(ctx, config, **listen_on(host, port))
    settings = with_part_port(settings, [PART])
    sock = bind(settings.server.host, settings.server.port)
    configure_logging(settings.log_level, settings.log_format)
    serve(settings, sock)


@gpu_app.command("snapshot")
def gpu_snapshot_command(
    ctx: typer.Context,
    config: ConfigOption = None,
    as_json: JsonFlag = False,
    metrics: Annotated[
        bool, typer.Option("--metrics", help="Print the /metrics exposition instead.")
    ] = False,
    simulate: Annotated[
        int | None, typer.Option("--simulate", help="Use N simulated GPUs (no driver needed).")
    ] = None,
) -> None:
    """Read every GPU once and print what the exporter would serve."""
    from prometheus_client import CollectorRegistry, generate_latest

    from inferwatch.exporters.gpu.exporter import snapshot_to_dict, start_in_process

    settings = settings_from(ctx, config).exporters.gpu
    if simulate is not None:
        settings = settings.model_copy(update={"simulate": simulate})
    registry = CollectorRegistry()
    handle = start_in_process(registry, settings, background=False)
    try:
        if metrics:
            typer.echo(generate_latest(registry).decode(), nl=False)
            return
        data = snapshot_to_dict(handle.snapshot())
    finally:
        handle.stop()
    emit(data, as_json, _human)
    if data["status"] != "ok":
        raise typer.Exit(1)


def _human(data: dict[str, object]) -> str:
    lines = [f"status: {data['status']} {data['message']}".rstrip()]
    gpus = data.get("gpus")
    for gpu in gpus if isinstance(gpus, list) else []:
        lines.append(f"GPU {gpu['index']} {gpu['name']} {gpu['uuid']} up={gpu['up']}")
        for key, value in sorted(gpu["values"].items()):
            lines.append(f"  {key}: {value:g}")
        for group, error in sorted(gpu["errors"].items()):
            lines.append(f"  ! {group}: {error}")
    return "\n".join(lines)
