"""The durable outbox: accepted actions live in the state store until delivered or failed.

``accept`` decides about every alert of a notification and writes the decisions
and the new outbox rows in ONE transaction, before the receiver answers 2xx:
what Alertmanager was told is accepted survives a crash. The dedup key
(fingerprint + episode start) is UNIQUE, so re-sends, repeats and a second
Alertmanager find the row and are audited as ``deduplicated``. Workers ``claim``
a due row under a lease (a crashed worker's claim expires and the row is tried
again), and ``finish`` only counts when the claim is still theirs.

Any number of replicas share one outbox on PostgreSQL: decisions are taken one
at a time (``Transaction.serialize``), so cooldowns and the hourly cap count
every replica's rows; the dedup key is inserted with ``ON CONFLICT DO NOTHING``;
claims skip rows another replica has locked (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import sqlalchemy as sa

from inferwatch.alerts.actions._audit import Decision, Outcome, record
from inferwatch.alerts.actions._payload import WebhookAlert, WebhookMessage
from inferwatch.alerts.actions._policy import Policy
from inferwatch.alerts.actions._status import OutboxStatus
from inferwatch.alerts.actions.targets import ActionRequest, workload
from inferwatch.alerts.tables import outbox as outbox_table
from inferwatch.errors import ConflictError, NotFoundError
from inferwatch.http_client import backoff_delay
from inferwatch.httputil import redact_text
from inferwatch.leases import replica_id
from inferwatch.storage import Storage, Transaction

# Rows that count for cooldowns and the hourly limit: what was (or would be) acted on.
_ACTIVE_STATUSES = (OutboxStatus.PENDING, OutboxStatus.DONE, OutboxStatus.DRY_RUN)
_ACTIVE = "(" + ", ".join(f"'{s.value}'" for s in _ACTIVE_STATUSES) + ")"


@dataclass(frozen=True)
class OutboxEntry:
    """One accepted action."""

    id: int
    dedup_key: str
    model: str
    action: str
    target: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: float
    last_error: str
    created_at: float
    request: ActionRequest

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (without the stored alert)."""
        data = asdict(self)
        data.pop("request")
        data["status"] = self.status.value
        return data


@dataclass(frozen=True)
class Claim:
    """A row a worker holds under lease."""

    entry: OutboxEntry
    token: str


_COLUMN_NAMES = (
    "id",
    "dedup_key",
    "model",
    "action",
    "target",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "idempotency_key",
    "alert_json",
    "context_json",
)
_COLUMNS = ", ".join(_COLUMN_NAMES)


def _entry(row: Sequence[Any]) -> OutboxEntry:
    """An entry from a row selected as ``_COLUMNS``, read by column name."""
    col = dict(zip(_COLUMN_NAMES, row, strict=True))
    request = ActionRequest(
        model=str(col["model"]),
        action=str(col["action"]),
        idempotency_key=str(col["idempotency_key"]),
        alert=json.loads(col["alert_json"]),
        context=json.loads(col["context_json"] or "{}"),
    )
    return OutboxEntry(
        id=int(col["id"]),
        dedup_key=str(col["dedup_key"]),
        model=str(col["model"]),
        action=str(col["action"]),
        target=str(col["target"]),
        status=OutboxStatus(col["status"]),
        attempts=int(col["attempts"]),
        next_attempt_at=float(col["next_attempt_at"]),
        last_error=redact_text(str(col["last_error"] or "")),
        created_at=float(col["created_at"]),
        request=request,
    )


class Outbox:
    """The outbox and its decisions on one state store."""

    def __init__(self, storage: Storage, *, replica: str | None = None) -> None:
        self.storage = storage
        self.replica = replica or replica_id()
        """Written to ``claimed_by`` with each claim: which replica holds a row."""

    def accept(
        self,
        message: WebhookMessage,
        policy: Policy,
        *,
        dry_run: bool,
        now: float | None = None,
        context_for: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> list[Decision]:
        """Decide about each alert and persist decisions and actions atomically.

        ``context_for(model)`` (e.g. the drift engine's latest result) is looked up
        before the transaction, so no lookup holds the store's write lock.
        """
        at = time.time() if now is None else now
        models = {a.labels.get("model", "") for a in message.alerts if a.status == "firing"}
        contexts = {m: dict(context_for(m)) for m in models if m} if context_for else {}
        with self.storage.transaction() as tx:
            tx.serialize("actions.accept")  # cooldowns and caps see every replica's rows
            decisions = [
                self._decide(
                    tx,
                    message,
                    alert,
                    policy,
                    dry_run=dry_run,
                    now=at,
                    context=contexts.get(alert.labels.get("model", ""), {}),
                )
                for alert in message.alerts
            ]
            record(tx, decisions, at)
        return decisions

    def _decide(
        self,
        tx: Transaction,
        message: WebhookMessage,
        alert: WebhookAlert,
        policy: Policy,
        *,
        dry_run: bool,
        now: float,
        context: Mapping[str, Any],
    ) -> Decision:
        action = alert.labels.get("action", "none")
        # A scale alert without a model (GPU, engine) names its workload instead.
        model = alert.labels.get("model", "") or (
            workload(alert.labels) if action == "scale" else ""
        )
        key = alert.dedup_key()

        def decision(outcome: Outcome, detail: str, target: str = "") -> Decision:
            return Decision(model, action, outcome, detail, key, target)

        if alert.status != "firing":
            return decision("ignored", "alert resolved")
        if policy.ignore_repeats and message.notification_reason() == "repeat":
            return decision("ignored", "notification is a repeat")
        if not model:
            return decision(
                "ignored",
                "alert has no model label"
                + (
                    " (nor a deployment label or a Deployment's pod label)"
                    if action == "scale"
                    else ""
                ),
            )
        rule = policy.rule_for(action, model)
        if rule is None:
            return decision("ignored", f"no policy for action {action!r} on model {model!r}")
        seen = tx.execute(
            "UPDATE actions_outbox SET last_seen_at = ? WHERE dedup_key = ? RETURNING id",
            (now, key),
        )
        if seen:  # last_seen_at keeps a still-firing episode's row past the retention
            return decision("deduplicated", "episode already accepted", rule.target)
        recent = tx.execute(
            f"SELECT MAX(created_at) FROM actions_outbox WHERE model = ? AND action = ?"
            f" AND status IN {_ACTIVE} AND created_at > ?",
            (model, action, now - rule.cooldown_seconds),
        )
        if recent and recent[0][0] is not None:
            left = rule.cooldown_seconds - (now - float(recent[0][0]))
            return decision("cooled_down", f"cooldown: {left:.0f}s left", rule.target)
        in_hour = tx.execute(
            f"SELECT COUNT(*) FROM actions_outbox WHERE status IN {_ACTIVE} AND created_at > ?",
            (now - 3600,),
        )[0][0]
        if int(in_hour) >= policy.max_actions_per_hour:
            return decision(
                "rate_limited", f"{policy.max_actions_per_hour} actions/hour reached", rule.target
            )
        status = OutboxStatus.DRY_RUN if dry_run or policy.dry_run else OutboxStatus.PENDING
        alert_json = alert.model_dump_json(by_alias=True)
        inserted = tx.execute(
            "INSERT INTO actions_outbox (dedup_key, idempotency_key, model, action, target,"
            " alert_json, context_json, status, next_attempt_at, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
            (
                key,
                alert.idempotency_key(),
                model,
                action,
                rule.target,
                alert_json,
                json.dumps(context, default=str),
                status.value,
                now,
                now,
                now,
            ),
        )
        if not inserted:  # another writer took the key first (a rare race past serialize)
            return decision("deduplicated", "episode already accepted", rule.target)
        if status is OutboxStatus.DRY_RUN:
            return decision("dry_run", f"would run target {rule.target}", rule.target)
        return decision("queued", f"queued for target {rule.target}", rule.target)

    def claim(self, lease_seconds: float, now: float | None = None) -> Claim | None:
        """Take the oldest due row under a lease, counting the attempt; None when idle."""
        at = time.time() if now is None else now
        token = uuid.uuid4().hex
        with self.storage.transaction() as tx:
            rows = tx.execute(_due(at))
            if not rows:
                return None
            taken = tx.execute(
                "UPDATE actions_outbox SET claim_token = ?, claimed_until = ?, claimed_by = ?,"
                " attempts = attempts + 1, updated_at = ? WHERE id = ?"
                " AND (claimed_until IS NULL OR claimed_until < ?) RETURNING id",
                (token, at + lease_seconds, self.replica, at, rows[0][0], at),
            )
            if not taken:
                return None
        entry = _entry(rows[0])
        return Claim(entry=replace(entry, attempts=entry.attempts + 1), token=token)

    def finish(
        self,
        claim: Claim,
        *,
        status: OutboxStatus | str,
        decision: Decision,
        error: str = "",
        retry_at: float | None = None,
        now: float | None = None,
    ) -> bool:
        """Record an attempt's end; False (and nothing written) when the lease was lost."""
        at = time.time() if now is None else now
        with self.storage.transaction() as tx:
            updated = tx.execute(
                "UPDATE actions_outbox SET status = ?, last_error = ?, next_attempt_at = ?,"
                " claim_token = NULL, claimed_until = NULL, claimed_by = NULL, updated_at = ?"
                " WHERE id = ? AND claim_token = ? RETURNING id",
                (
                    OutboxStatus(status).value,  # an unknown status is a ValueError
                    redact_text(error),
                    retry_at if retry_at is not None else at,
                    at,
                    claim.entry.id,
                    claim.token,
                ),
            )
            if updated:
                record(tx, [decision], at)
        return bool(updated)

    def requeue(self, entry_id: int, now: float | None = None) -> OutboxEntry:
        """Put a failed action back in the queue with fresh attempts (an operator's decision)."""
        at = time.time() if now is None else now
        with self.storage.transaction() as tx:
            rows = tx.execute(f"SELECT {_COLUMNS} FROM actions_outbox WHERE id = ?", (entry_id,))
            if not rows:
                raise NotFoundError(f"no outbox entry {entry_id}")
            entry = _entry(rows[0])
            if entry.status is not OutboxStatus.FAILED:
                raise ConflictError(
                    f"outbox entry {entry_id} is {entry.status}; only failed entries are re-queued"
                )
            tx.execute(
                "UPDATE actions_outbox SET status = ?, attempts = 0, next_attempt_at = ?,"
                " claim_token = NULL, claimed_until = NULL, claimed_by = NULL, updated_at = ?"
                " WHERE id = ?",
                (OutboxStatus.PENDING.value, at, at, entry_id),
            )
            decision = Decision(
                entry.model,
                entry.action,
                "queued",
                "re-queued by an operator",
                entry.dedup_key,
                entry.target,
            )
            record(tx, [decision], at)
        return replace(entry, status=OutboxStatus.PENDING, attempts=0, next_attempt_at=at)

    def entries(
        self, status: OutboxStatus | str | None = None, limit: int = 100
    ) -> list[OutboxEntry]:
        """Rows, newest first, optionally with one status."""
        clause, params = ("WHERE status = ?", [OutboxStatus(status).value]) if status else ("", [])
        rows = self.storage.query(
            f"SELECT {_COLUMNS} FROM actions_outbox {clause} ORDER BY id DESC LIMIT ?",
            [*params, limit],
        )
        return [_entry(r) for r in rows]


def _due(at: float) -> sa.Select[Any]:
    """The oldest due, unclaimed row; replicas skip rows another one has locked.

    SQLAlchemy renders ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and nothing on
    SQLite, where ``BEGIN IMMEDIATE`` already makes the claim exclusive.
    """
    t = outbox_table.c
    return (
        sa.select(*(t[name] for name in _COLUMN_NAMES))
        .where(t.status == OutboxStatus.PENDING.value, t.next_attempt_at <= at)
        .where(sa.or_(t.claimed_until.is_(None), t.claimed_until < at))
        .order_by(t.next_attempt_at, t.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


backoff = backoff_delay
"""The outbox's wait between attempts: the house's exponential backoff with jitter."""
