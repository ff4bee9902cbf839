"""What the actions receiver keeps, and for how long.

- **Seen signatures**: the digest of every accepted signed webhook, kept while its
  timestamp is inside the tolerance window; a second delivery with the same
  digest is a replay. Outside the window the timestamp check refuses it anyway,
  so the row can go.
- **Finished outbox rows** (the dedup keys) and **audit rows**: deleted after
  ``retention_days``. A dedup row counts from the last time Alertmanager sent its
  alert (``last_seen_at``), so an alert that fires for longer than the retention
  is still deduplicated. Pending rows are never pruned.

``Pruner`` runs in the background of the actions part; its clock is injected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from inferwatch.alerts.actions._signature import Verified
from inferwatch.alerts.actions.settings import ActionsSettings
from inferwatch.storage import Storage

log = logging.getLogger("inferwatch.actions")
DAY_SECONDS = 86400.0

_FINISHED = "('done', 'failed', 'dry_run', 'ignored')"


def first_use(storage: Storage, signature: Verified, now: float) -> bool:
    """Record a verified signature; False when it was seen before (a replay)."""
    with storage.transaction() as tx:
        inserted = tx.execute(
            "INSERT INTO actions_signatures (digest, signed_at, seen_at) VALUES (?, ?, ?)"
            " ON CONFLICT (digest) DO NOTHING RETURNING digest",
            (signature.digest, float(signature.timestamp), now),
        )
    return bool(inserted)


@dataclass(frozen=True)
class Pruned:
    """Rows deleted by one pruning pass."""

    audit: int
    outbox: int
    signatures: int


def prune(storage: Storage, settings: ActionsSettings, now: float) -> Pruned:
    """Delete what retention no longer keeps, in one transaction."""
    cutoff = now - settings.retention_days * DAY_SECONDS
    with storage.transaction() as tx:
        audit = tx.execute("DELETE FROM actions_audit WHERE at < ? RETURNING id", (cutoff,))
        outbox = tx.execute(
            f"DELETE FROM actions_outbox WHERE status IN {_FINISHED}"
            " AND COALESCE(last_seen_at, updated_at) < ? RETURNING id",
            (cutoff,),
        )
        signatures = tx.execute(
            "DELETE FROM actions_signatures WHERE signed_at < ? RETURNING digest",
            (now - settings.signature_tolerance_seconds,),
        )
    return Pruned(audit=len(audit), outbox=len(outbox), signatures=len(signatures))


class Pruner:
    """Runs ``prune`` every ``retention_interval_seconds`` until stopped."""

    def __init__(
        self,
        storage: Storage,
        settings: ActionsSettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.clock = clock
        self.passes = 0
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def run_once(self) -> Pruned:
        """One pass at the clock's now (blocking; the loop calls it from a thread)."""
        pruned = prune(self.storage, self.settings, self.clock())
        self.passes += 1
        if pruned.audit or pruned.outbox:
            log.info(
                "pruned actions history",
                extra={"fields": {"audit_rows": pruned.audit, "outbox_rows": pruned.outbox}},
            )
        return pruned

    def start(self) -> None:
        """Start the loop on the running event loop (first pass right away)."""
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="actions-retention")

    async def stop(self) -> None:
        """Stop the loop; idempotent."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("pruning the actions history failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stop.wait(), timeout=self.settings.retention_interval_seconds
                )
