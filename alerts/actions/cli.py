"""`inferwatch actions ...`: Alertmanager webhook receiver: scale and retrain actions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from inferwatch.cli_support import (
    EXIT_FINDING,
    ConfigOption,
    HostOption,
    JsonFlag,
    PortOption,
    emit,
    fail,
    guarded,
    listen_on,
    serve,
    settings_from,
)

app = typer.Typer(
    help="Alertmanager webhook receiver: scale and retrain actions.", no_args_is_help=True
)
policy_app = typer.Typer(help="Validate action policies.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    config: ConfigOption = None,
    host: HostOption = None,
    port: PortOption = None,
) -> None:
    """Run the actions part as its own service."""
    serve(settings_from(ctx, config, **listen_on(host, port)), ["actions"])


def _open_store(ctx: typer.Context, config: Path | None) -> Any:
    from inferwatch.storage import open_storage

    settings = settings_from(ctx, config)
    store = guarded(lambda: open_storage(settings.storage_url()))
    guarded(store.migrate)
    return store


@app.command("audit")
def audit_command(
    ctx: typer.Context,
    *,
    config: ConfigOption = None,
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    outcome: Annotated[str | None, typer.Option(help="Only this outcome.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many entries.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Show the decisions about alerts (newest first) from the state store."""
    from inferwatch.alerts.actions._audit import OUTCOMES, read_audit

    if outcome is not None and outcome not in OUTCOMES:
        fail(f"--outcome must be one of {', '.join(OUTCOMES)}; got {outcome!r}")
    store = _open_store(ctx, config)
    try:
        entries = guarded(lambda: read_audit(store, model=model, outcome=outcome, limit=limit))
    finally:
        store.close()
    data = [e.to_json() for e in entries]
    emit(
        data,
        as_json,
        human=lambda rows: (
            "\n".join(
                f"{r['id']:>6} {r['model']:<16} {r['action']:<8} {r['outcome']:<13} {r['detail']}"
                for r in rows
            )
            or "no audit entries"
        ),
    )


@app.command("outbox")
def outbox_command(
    ctx: typer.Context,
    *,
    config: ConfigOption = None,
    status: Annotated[
        str | None, typer.Option(help="pending, done, failed, dry_run or ignored.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many entries.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Show accepted actions and their delivery state; exit 1 when any has failed."""
    from inferwatch.alerts.actions._outbox import Outbox
    from inferwatch.alerts.actions._status import OutboxStatus
    from inferwatch.alerts.actions.api import OUTBOX_STATUSES

    if status is not None and status not in OUTBOX_STATUSES:
        fail(f"--status must be one of {', '.join(OUTBOX_STATUSES)}; got {status!r}")
    store = _open_store(ctx, config)
    try:
        entries = guarded(lambda: Outbox(store).entries(status, limit))
    finally:
        store.close()
    data = [e.to_json() for e in entries]
    emit(
        data,
        as_json,
        human=lambda rows: (
            "\n".join(
                f"{r['id']:>6} {r['model']:<16} {r['action']:<8} {r['status']:<8} "
                f"attempts={r['attempts']} {r['last_error']}"
                for r in rows
            )
            or "outbox is empty"
        ),
    )
    if any(e.status is OutboxStatus.FAILED for e in entries):
        raise typer.Exit(EXIT_FINDING)


@policy_app.command("check")
def policy_check(
    file: Annotated[Path, typer.Argument(help="Policy YAML file.")],
    resolve_secrets: Annotated[
        bool, typer.Option(help="Also check that every target's secret can be read.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Validate a policy file; exit 2 with the problems when it is wrong."""
    from inferwatch.alerts.actions._policy import check_secrets, load_policy

    policy = guarded(lambda: load_policy(file))
    if resolve_secrets:
        guarded(lambda: check_secrets(policy))
    data = {
        "file": str(file),
        "valid": True,
        "actions": {k: v.target for k, v in policy.actions.items()},
        "targets": {k: v.type for k, v in policy.targets.items()},
        "dry_run": policy.dry_run,
        "max_actions_per_hour": policy.max_actions_per_hour,
    }
    emit(
        data,
        as_json,
        human=lambda d: (
            f"{d['file']}: valid; actions "
            + (", ".join(f"{a} -> {t}" for a, t in d["actions"].items()) or "none")
        ),
    )
