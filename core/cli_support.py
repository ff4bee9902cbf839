"""What every CLI verb shares: settings from ``--config``, ``--json`` output, exit codes, serving.

Exit codes: 0 success, 1 a finding (e.g. drift detected), 2 an error the user can
fix (bad settings, unreadable file), with one line on stderr that says what.
"""

from __future__ import annotations

import json
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

T = TypeVar("T")


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print one line to stderr and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_from(ctx: typer.Context, config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the verb's or the root's ``--config``, failing with a readable message."""
    from inferwatch.settings import load_settings

    root_config = (ctx.obj or {}).get("config") if ctx is not None else None
    path = config if config is not None else root_config
    try:
        return load_settings(path, **overrides)
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


def serve(settings: Settings, part_names: Sequence[str]) -> None:
    """Run a service with these parts until interrupted."""
    import uvicorn

    from inferwatch.app import create_app
    from inferwatch.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings, part_names)
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_config=None,
        access_log=False,
    )
