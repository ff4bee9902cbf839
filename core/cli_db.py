"""``inferwatch db``: bring the state store's schema to head, or say where it stands.

Services migrate at start on their own; these verbs are for an operator who
wants the upgrade as its own step (a Helm hook, a maintenance window) or wants
to see whether a database is older, current, or newer than this release.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from inferwatch.cli_support import ConfigOption, JsonFlag, emit, fail, guarded, settings_from

app = typer.Typer(help="Schema of the state store (SQLite or PostgreSQL).", no_args_is_help=True)


def _open(ctx: typer.Context, config: Path | None) -> Any:
    from inferwatch.storage import open_storage

    settings = settings_from(ctx, config)
    return guarded(
        lambda: open_storage(
            settings.storage_url(), busy_timeout=settings.database_busy_timeout_seconds
        )
    )


@app.command("upgrade")
def upgrade_command(
    ctx: typer.Context, config: ConfigOption = None, as_json: JsonFlag = False
) -> None:
    """Apply every missing migration (all parts); refuse a database newer than this release."""
    from inferwatch.httputil import redact_url

    store = _open(ctx, config)
    try:
        applied = guarded(store.migrate)
    finally:
        store.close()
    emit(
        {"url": redact_url(store.url), "applied": applied},
        as_json,
        human=lambda d: f"applied {', '.join(d['applied'])}" if d["applied"] else "already at head",
    )


@app.command("current")
def current_command(
    ctx: typer.Context, config: ConfigOption = None, as_json: JsonFlag = False
) -> None:
    """Print the database's revisions and this release's heads; exit 1 when they differ."""
    from inferwatch.httputil import redact_url
    from inferwatch.migrate import state

    store = _open(ctx, config)
    try:
        found = guarded(lambda: state(store))
    finally:
        store.close()
    data = {
        "url": redact_url(store.url),
        "current": list(found.current),
        "heads": list(found.heads),
        "unknown": list(found.unknown),
        "at_head": found.at_head,
    }
    emit(
        data,
        as_json,
        human=lambda d: (
            f"current: {', '.join(d['current']) or '(empty)'}\nheads:   {', '.join(d['heads'])}"
        ),
    )
    if found.unknown:
        fail(f"database has revisions this release does not know: {', '.join(found.unknown)}")
    if not found.at_head:
        raise typer.Exit(1)
