"""Tumbling windows per model, each with a uniform reservoir sample, in the state store.

A record belongs to the window its batch arrived in (``floor(t / length)``).
Per model and window the store keeps the number of accepted records and up to
``reservoir_size`` of them (the contract's Algorithm R, ``reservoir_slots``,
vectorised per batch: a batch costs a handful of numpy calls plus one write per
record that enters the reservoir, which becomes rare as the window fills).
Everything is written in the same transaction as the row count, so what was
acknowledged survives a restart.
Closed windows older than ``retention_windows`` are deleted.

``WindowStore`` is the ``WindowSource`` the drift engine reads
(``inferwatch.contracts.handoffs.WINDOWS``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from inferwatch.contracts.sample import reservoir_slots
from inferwatch.contracts.windows import LiveWindow
from inferwatch.storage import Storage, Transaction


@dataclass(frozen=True)
class Batch:
    """Validated records of one request for one model, stamped with their arrival time."""

    model: str
    table: pa.Table
    arrived_at: float

    @property
    def rows(self) -> int:
        """Number of records."""
        return int(self.table.num_rows)


@dataclass(frozen=True)
class WindowInfo:
    """A window without its sample (listings, CLI)."""

    model: str
    start: datetime
    end: datetime
    rows: int
    sampled: int
    closed: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rows": self.rows,
            "sampled": self.sampled,
            "closed": self.closed,
        }


class WindowStore:
    """Writes batches into windows (one writer thread) and reads windows back (any thread)."""

    def __init__(
        self,
        storage: Storage,
        *,
        window_seconds: int,
        reservoir_size: int,
        retention_windows: int,
        clock: Callable[[], float] = time.time,
        seed: int | None = None,
        on_window_closed: Callable[[str], None] | None = None,
    ) -> None:
        self._storage = storage
        self.window_seconds = window_seconds
        self.reservoir_size = reservoir_size
        self.retention_windows = retention_windows
        self._clock = clock
        self._rng = np.random.default_rng(seed)
        self._on_closed = on_window_closed
        self._current: dict[str, tuple[int, int]] = {}
        """model -> (start of its newest window, rows in it): the writer's cache."""
        self.shared_writers = False
        """True when other processes write the same windows (PostgreSQL replicas): no cache."""

    def window_start(self, t: float) -> int:
        """Start (epoch seconds) of the window holding time ``t``."""
        return math.floor(t / self.window_seconds) * self.window_seconds

    # -- write path (the queue's worker thread only) --------------------------------

    def apply(self, batches: Sequence[Batch]) -> None:
        """Write batches in one transaction: row counts, reservoir slots, retention.

        A failed transaction rolls back, and so does the writer's cache of window row counts.
        """
        cached = dict(self._current)
        try:
            with self._storage.transaction() as tx:
                for batch in batches:
                    self._apply_one(tx, batch)
        except BaseException:
            self._current = cached
            raise

    def _apply_one(self, tx: Transaction, batch: Batch) -> None:
        start = self.window_start(batch.arrived_at)
        seen = self._seen(tx, batch.model, start)
        slots, indices = reservoir_slots(seen, batch.rows, self.reservoir_size, self._rng)
        if len(indices):
            records = batch.table.take(pa.array(indices)).to_pylist()
            tx.executemany(
                "INSERT INTO collector_samples (model, start_s, slot, record) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (model, start_s, slot) "
                "DO UPDATE SET record = excluded.record",
                (
                    (batch.model, start, int(slot), json.dumps(record))
                    for slot, record in zip(slots, records, strict=True)
                ),
            )
        tx.execute(
            "INSERT INTO collector_windows (model, start_s, end_s, rows) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (model, start_s) "
            "DO UPDATE SET rows = collector_windows.rows + excluded.rows",
            (batch.model, start, start + self.window_seconds, batch.rows),
        )
        self._current[batch.model] = (start, seen + batch.rows)

    def _seen(self, tx: Transaction, model: str, start: int) -> int:
        cached = self._current.get(model)
        if self.shared_writers:  # one writer per model at a time, across replicas
            tx.serialize(f"collector.window:{model}")
        elif cached is not None and cached[0] == start:
            return cached[1]
        rows = tx.execute(
            "SELECT rows FROM collector_windows WHERE model = ? AND start_s = ?", (model, start)
        )
        if not rows:
            self._open_window(tx, model, start, had_previous=cached is not None)
            return 0
        return int(rows[0][0])

    def _open_window(self, tx: Transaction, model: str, start: int, *, had_previous: bool) -> None:
        if had_previous and self._on_closed is not None:
            self._on_closed(model)
        oldest_kept = start - self.retention_windows * self.window_seconds
        tx.execute(
            "DELETE FROM collector_samples WHERE model = ? AND start_s < ?", (model, oldest_kept)
        )
        tx.execute(
            "DELETE FROM collector_windows WHERE model = ? AND start_s < ?", (model, oldest_kept)
        )

    # -- read path -----------------------------------------------------------------

    def models(self) -> list[str]:
        """Models that have records."""
        rows = self._storage.query("SELECT DISTINCT model FROM collector_windows ORDER BY model")
        return [str(r[0]) for r in rows]

    def windows(self, model: str, *, limit: int = 100) -> list[WindowInfo]:
        """Newest first."""
        rows = self._storage.query(
            "SELECT w.start_s, w.end_s, w.rows, (SELECT COUNT(*) FROM collector_samples s "
            "WHERE s.model = w.model AND s.start_s = w.start_s) FROM collector_windows w "
            "WHERE w.model = ? ORDER BY w.start_s DESC LIMIT ?",
            (model, limit),
        )
        now = self._clock()
        return [
            WindowInfo(
                model=model,
                start=_utc(start),
                end=_utc(end),
                rows=int(n),
                sampled=int(sampled),
                closed=end <= now,
            )
            for start, end, n, sampled in rows
        ]

    def latest_window(self, model: str, *, include_open: bool = False) -> LiveWindow | None:
        """The newest closed window (or the open one when asked), with its sample."""
        now = self._clock()
        sql = "SELECT start_s, end_s, rows FROM collector_windows WHERE model = ?"
        params: list[Any] = [model]
        if not include_open:
            sql += " AND end_s <= ?"
            params.append(now)
        found = self._storage.query(sql + " ORDER BY start_s DESC LIMIT 1", params)
        if not found:
            return None
        start, end, rows = found[0]
        records = self._storage.query(
            "SELECT record FROM collector_samples WHERE model = ? AND start_s = ? ORDER BY slot",
            (model, start),
        )
        sample = pd.DataFrame([json.loads(r[0]) for r in records])
        return LiveWindow(
            model=model,
            start=_utc(start),
            end=_utc(end),
            rows=int(rows),
            sample=sample,
            closed=end <= now,
        )


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)
