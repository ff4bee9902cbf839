"""What every CLI verb shares: settings from ``--config``, ``--json`` output, exit codes, serving.

Exit codes: 0 success, 1 a finding (e.g. drift detected), 2 an error the user can
fix (bad settings, unreadable file), with one line on stderr that says what.
"""

from __future__ import annotations

import errno
import json
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from inferwatch.errors import InferwatchError

if TYPE_CHECKING:  # settings cost pydantic-settings' import: only verbs that run load them
    from inferwatch.settings import Settings

EXIT_OK, EXIT_FINDING, EXIT_ERROR = 0, 1, 2

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="YAML settings file (else $INFERWATCH_CONFIG).", show_default=False
    ),
]

HostOption = Annotated[
    str | None,
    typer.Option("--host", help="Address to bind (else server.host).", show_default=False),
]
PortOption = Annotated[
    int | None,
    typer.Option(
        "--port",
        min=0,
        max=65535,
        help="TCP port (else server.port, else this part's own default port).",
        show_default=False,
    ),
]

T = TypeVar("T")


def listen_on(host: str | None, port: int | None) -> dict[str, Any]:
    """Settings overrides for ``--host``/``--port`` (validated like the rest of the settings)."""
    server = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    return {"server": server} if server else {}


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print one line to stderr and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_from(ctx: typer.Context, config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the verb's or the root's ``--config``, failing with a readable message."""
    from inferwatch.settings import load_settings

    root = (ctx.find_root().obj if ctx is not None else None) or {}
    path = config if config is not None else root.get("config")
    try:
        return load_settings(path, **{**root.get("overrides", {}), **overrides})
    except InferwatchError as exc:
        fail(str(exc))


def guarded(func: Callable[[], T]) -> T:
    """Run ``func``, turning inferwatch's own errors into exit code 2 with a message."""
    try:
        return func()
    except InferwatchError as exc:
        fail(str(exc))


def emit(data: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print ``data`` as JSON, or as text for a person."""
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    elif human is not None:
        typer.echo(human(data))
    elif isinstance(data, dict):
        for key, value in data.items():
            typer.echo(f"{key}: {value}")
    else:
        typer.echo(str(data))


def serve(settings: Settings, part_names: Sequence[str], *, own_port: bool = True) -> None:
    """Run a service with these parts until interrupted.

    With ``own_port``, one part alone listens on its own default port
    (``registry.DEFAULT_PORTS``) unless a port was given; a port that is taken exits 2
    with one line naming the setting.
    """
    import uvicorn

    from inferwatch.app import create_app
    from inferwatch.logs import configure_logging

    if own_port:
        settings = with_part_port(settings, part_names)
    host, port = settings.server.host, settings.server.port
    sock = bind(host, port)
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings, part_names)
    config = uvicorn.Config(app, log_config=None, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def with_part_port(settings: Settings, part_names: Sequence[str]) -> Settings:
    """``settings`` listening on the part's default port when none was given."""
    from inferwatch.registry import DEFAULT_PORTS

    server = settings.server
    if "port" in server.model_fields_set or len(part_names) != 1:
        return settings
    port = DEFAULT_PORTS.get(part_names[0], server.port)
    return settings.model_copy(update={"server": server.model_copy(update={"port": port})})


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or exit 2 saying which port and which setting to change."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        why = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc})"
        fail(
            f"port {port} on {host} {why}; choose another with --port or server.port "
            "(INFERWATCH_SERVER__PORT)"
        )
    sock.set_inheritable(True)
    return sock
