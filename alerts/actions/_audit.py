"""The audit log: one row per decision about an alert, readable through API, CLI and metrics.

Outcomes in ``inferwatch_actions_total{model,action,outcome}`` are the contract's
(``done, deduplicated, cooled_down, dry_run, rate_limited, ignored, failed``). The
log also records the steps in between, ``queued`` (written to the outbox) and
``retry`` (an attempt failed and another is scheduled), which are not counted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge

from inferwatch.alerts.actions._status import OutboxStatus
from inferwatch.errors import StorageError
from inferwatch.httputil import redact_text
from inferwatch.storage import Storage, Transaction

Outcome = Literal[
    "done",
    "deduplicated",
    "cooled_down",
    "dry_run",
    "rate_limited",
    "ignored",
    "failed",
    "queued",
    "retry",
]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
COUNTED_OUTCOMES: tuple[str, ...] = (
    "done",
    "deduplicated",
    "cooled_down",
    "dry_run",
    "rate_limited",
    "ignored",
    "failed",
)


@dataclass(frozen=True)
class AuditEntry:
    """One decision."""

    id: int
    at: float
    model: str
    action: str
    outcome: str
    dedup_key: str
    target: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """A decision not yet written: what ``record`` stores and what the metrics count."""

    model: str
    action: str
    outcome: Outcome
    detail: str
    dedup_key: str = ""
    target: str = ""


class ActionsMetrics:
    """The part's metrics on the service registry."""

    def __init__(self, registry: CollectorRegistry, storage: Storage) -> None:
        self.actions = Counter(
            "inferwatch_actions",
            "Decisions about alerts by the actions receiver, by outcome.",
            ["model", "action", "outcome"],
            registry=registry,
        )
        self.pending = Gauge(
            "inferwatch_actions_outbox_pending",
            "Accepted actions not yet delivered (waiting or retrying).",
            registry=registry,
        )
        self.pending.set_function(lambda: _pending(storage))

    def count(self, decisions: Sequence[Decision]) -> None:
        """Count committed decisions (only the contract's outcomes)."""
        for d in decisions:
            if d.outcome in COUNTED_OUTCOMES:
                self.actions.labels(d.model or "unknown", d.action or "none", d.outcome).inc()


def _pending(storage: Storage) -> float:
    try:
        rows = storage.query(
            "SELECT COUNT(*) FROM actions_outbox WHERE status = ?", [OutboxStatus.PENDING.value]
        )
    except StorageError:  # a scrape must not fail while the store closes
        return float("nan")
    return float(rows[0][0])


def record(tx: Transaction, decisions: Sequence[Decision], now: float | None = None) -> None:
    """Write decisions inside the caller's transaction (details with secrets masked)."""
    at = time.time() if now is None else now
    tx.executemany(
        "INSERT INTO actions_audit (at, model, action, outcome, dedup_key, target, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (at, d.model, d.action, d.outcome, d.dedup_key, d.target, redact_text(d.detail))
            for d in decisions
        ],
    )


def read_audit(
    storage: Storage,
    *,
    model: str | None = None,
    outcome: str | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The newest entries first, optionally for one model and/or outcome."""
    where, params = [], []
    if model is not None:
        where.append("model = ?")
        params.append(model)
    if outcome is not None:
        where.append("outcome = ?")
        params.append(outcome)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = storage.query(
        "SELECT id, at, model, action, outcome, dedup_key, target, detail FROM actions_audit "
        f"{clause} ORDER BY id DESC LIMIT ?",
        [*params, limit],
    )
    return [
        AuditEntry(
            id=int(r[0]),
            at=float(r[1]),
            model=str(r[2]),
            action=str(r[3]),
            outcome=str(r[4]),
            dedup_key=str(r[5] or ""),
            target=str(r[6] or ""),
            detail=redact_text(str(r[7])),  # rows written before redaction existed
        )
        for r in rows
    ]
