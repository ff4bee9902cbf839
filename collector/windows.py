"""Tumbling windows per model, each with a uniform reservoir sample, in the state store.

A record belongs to the window its batch arrived in (``floor(t / length)``).
Per model and window the store keeps the number of accepted records and up to
``reservoir_size`` of them (the contract's Algorithm R, ``reservoir_slots``,
vectorised per batch: a batch costs a handful of numpy calls plus one write per
record that enters the reservoir, which becomes rare as the window fills).
Everything is written in the same transaction as the row count, so what was
acknowledged survives a restart.
Closed windows older than ``retention_windows`` are deleted.

``WindowStore`` is the ``WindowSource`` the drift engine reads in the same process
(``inferwatch.contracts.handoffs.WINDOWS``); in any other process on the same store the
drift engine reads the same windows through ``WindowReader``.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from inferwatch.collector.outcomes import (
    CountedOutcomes,
    OutcomeBatch,
    PredictionOutcomes,
    add_outcomes,
    join_actuals,
)
from inferwatch.collector.window_reader import WindowReader
from inferwatch.contracts.sample import merge_slots, reservoir_slots
from inferwatch.contracts.summary import FeatureSummary, WindowSummary
from inferwatch.storage import Storage, Transaction


@dataclass(frozen=True)
class Batch:
    """Validated records of one request for one model, stamped with their arrival time.

    ``features`` are the records counted in the baseline's bins (version
    ``baseline_version``), as a recorder's summary counts them, so a window's counts
    cover raw records and summaries alike.
    """

    model: str
    table: pa.Table
    arrived_at: float
    baseline_version: int | None = None
    features: tuple[FeatureSummary, ...] = ()
    outcomes: CountedOutcomes | None = None
    """The batch's predictions and actuals, counted (models with outcome columns)."""

    @property
    def rows(self) -> int:
        """Number of records."""
        return int(self.table.num_rows)


@dataclass(frozen=True)
class SummaryBatch:
    """A validated window summary from a recorder, stamped with its arrival time."""

    model: str
    summary: WindowSummary
    arrived_at: float
    key: str | None = None
    """The recorder's ``Idempotency-Key``: a summary sent again under it is merged once."""
    merged: list[int] = field(default_factory=list, compare=False)
    """Filled by the writer: the window's rows once this summary is in."""

    @property
    def rows(self) -> int:
        """What it holds in the queue: its sampled rows (at least one)."""
        return max(1, len(self.summary.sample))


Item = Batch | SummaryBatch | OutcomeBatch | PredictionOutcomes
"""What the writer applies: raw records, a recorder's summary, or late actuals."""


class WindowStore(WindowReader):
    """Writes batches into windows (one writer thread); reads come from ``WindowReader``."""

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
        on_duplicate: Callable[[str], None] | None = None,
        outcome_ttl_seconds: int = 7 * 24 * 3600,
    ) -> None:
        super().__init__(storage, clock=clock)
        self.window_seconds = window_seconds
        self.reservoir_size = reservoir_size
        self.retention_windows = retention_windows
        self._rng = np.random.default_rng(seed)
        self._on_closed = on_window_closed
        self._on_duplicate = on_duplicate
        self.outcome_ttl_seconds = outcome_ttl_seconds
        self._current: dict[str, tuple[int, int]] = {}
        """model -> (start of its newest window, rows in it): the writer's cache."""
        self.shared_writers = False
        """True when other processes write the same windows (PostgreSQL replicas): no cache."""

    def sample_rate(self, window_rows: int) -> float:
        """The share of a window's rows its reservoir keeps, doubled for headroom: the rate
        a recorder's next interval sample needs (a fleet's pods then ship a few rows each)."""
        return min(1.0, 2 * self.reservoir_size / max(window_rows, 1))

    def window_start(self, t: float) -> int:
        """Start (epoch seconds) of the window holding time ``t``."""
        return math.floor(t / self.window_seconds) * self.window_seconds

    # -- write path (the queue's worker thread only) --------------------------------

    def apply(self, batches: Sequence[Item]) -> None:
        """Write batches in one transaction: row counts, reservoir slots, retention.

        A failed transaction rolls back, and so does the writer's cache of window row counts.
        """
        cached = dict(self._current)
        counts = _CountBuffer()
        try:
            with self._storage.transaction() as tx:
                for batch in batches:
                    if isinstance(batch, SummaryBatch):
                        self._apply_summary(tx, batch, counts)
                    elif isinstance(batch, OutcomeBatch):
                        self._apply_actuals(tx, batch)
                    elif isinstance(batch, PredictionOutcomes):
                        start = self.window_start(batch.arrived_at)
                        self._add_outcomes(tx, batch, start, batch.baseline_version, batch.outcomes)
                    else:
                        self._apply_one(tx, batch, counts)
                counts.flush(tx)  # one upsert per bin for the whole transaction
        except BaseException:
            self._current = cached
            raise

    def _apply_one(self, tx: Transaction, batch: Batch, counts: _CountBuffer) -> None:
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
        if batch.baseline_version is not None:
            counts.add(batch.model, start, batch.baseline_version, batch.features)
            if batch.outcomes is not None:
                self._add_outcomes(tx, batch, start, batch.baseline_version, batch.outcomes)
        tx.execute(
            "INSERT INTO collector_windows (model, start_s, end_s, rows) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (model, start_s) "
            "DO UPDATE SET rows = collector_windows.rows + excluded.rows",
            (batch.model, start, start + self.window_seconds, batch.rows),
        )
        self._current[batch.model] = (start, seen + batch.rows)

    def _apply_summary(self, tx: Transaction, item: SummaryBatch, counts: _CountBuffer) -> None:
        """Merge a summary: rows and counts add (upserts), the sample merges uniformly.

        The contract's weighted reservoir merge is drawn as slot writes (``merge_slots``):
        the window's sample is never read, and only the rows that change are written.
        """
        summary = item.summary
        model = item.model
        start = self.window_start(item.arrived_at)
        seen = self._seen(tx, model, start)  # under the model's lock when replicas share it
        if item.key is not None and not self._first_time(tx, model, item.key, start):
            if self._on_duplicate is not None:
                self._on_duplicate(model)
            item.merged[:] = [seen]
            return
        held = int(
            tx.execute(
                "SELECT COUNT(*) FROM collector_samples WHERE model = ? AND start_s = ?",
                (model, start),
            )[0][0]
        )
        plan = merge_slots(
            held,
            max(seen, held),
            len(summary.sample),
            summary.sampled_from,
            capacity=self.reservoir_size,
            rng=self._rng,
        )
        where = "WHERE model = ? AND start_s = ? AND slot = ?"
        if plan.delete.size:
            tx.executemany(
                f"DELETE FROM collector_samples {where}",
                ((model, start, int(slot)) for slot in plan.delete),
            )
        for old, new in plan.move:
            tx.execute(f"UPDATE collector_samples SET slot = ? {where}", (new, model, start, old))
        if plan.write.size:
            tx.executemany(
                "INSERT INTO collector_samples (model, start_s, slot, record) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (model, start_s, slot) DO UPDATE SET record = excluded.record",
                (
                    (model, start, int(slot), json.dumps(dict(summary.sample[int(i)])))
                    for slot, i in zip(plan.write, plan.take, strict=True)
                ),
            )
        counts.add(model, start, summary.baseline_version, summary.features)
        item.merged[:] = [seen + summary.rows]
        tx.execute(
            "INSERT INTO collector_windows (model, start_s, end_s, rows) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (model, start_s) "
            "DO UPDATE SET rows = collector_windows.rows + excluded.rows",
            (model, start, start + self.window_seconds, summary.rows),
        )
        self._current[model] = (start, seen + summary.rows)

    def _add_outcomes(
        self,
        tx: Transaction,
        batch: Batch | PredictionOutcomes,
        start: int,
        version: int,
        outcomes: CountedOutcomes,
    ) -> None:
        expires = int(batch.arrived_at) + self.outcome_ttl_seconds
        add_outcomes(tx, batch.model, start, version, outcomes, expires_s=expires)

    def _apply_actuals(self, tx: Transaction, item: OutcomeBatch) -> None:
        if self.shared_writers:
            tx.serialize(f"collector.window:{item.model}")
        join_actuals(tx, item)

    @staticmethod
    def _first_time(tx: Transaction, model: str, key: str, start: int) -> bool:
        """Record ``key``; False when a summary under it was merged already."""
        found = tx.execute(
            "SELECT 1 FROM collector_summary_keys WHERE model = ? AND key = ?", (model, key)
        )
        if found:
            return False
        tx.execute(
            "INSERT INTO collector_summary_keys (model, key, start_s) VALUES (?, ?, ?)",
            (model, key, start),
        )
        return True

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
        oldest_outcome = start - self.outcome_ttl_seconds
        tx.execute(
            "DELETE FROM collector_predictions WHERE model = ? AND expires_s < ?",
            (model, start),
        )
        tx.execute(
            "DELETE FROM collector_outcome_cells WHERE model = ? AND start_s < ?",
            (model, oldest_outcome),
        )
        tables = ("collector_bins", "collector_feature_totals", "collector_summary_keys")
        for table in (*tables, "collector_windows"):
            tx.execute(
                f"DELETE FROM {table} WHERE model = ? AND start_s < ?",
                (model, oldest_kept),
            )


class _CountBuffer:
    """Counts of one writer transaction, added up in memory and upserted once per bin:
    a transaction that drains many pods' summaries of one window writes each bin once."""

    def __init__(self) -> None:
        self._bins: Counter[tuple[str, int, int, str, int]] = Counter()
        self._missing: Counter[tuple[str, int, int, str]] = Counter()
        self._totals: dict[tuple[str, int, int, str], float] = {}

    def add(self, model: str, start: int, version: int, features: Sequence[FeatureSummary]) -> None:
        """Add one batch's or summary's counts (versions are never added up)."""
        for f in features:
            key = (model, start, version, f.name)
            for i, n in enumerate(f.counts):
                if n or i == len(f.counts) - 1:  # the last bin always: readers count bins by it
                    self._bins[(*key, i)] += n
            self._missing[key] += f.missing
            self._totals[key] = self._totals.get(key, 0.0) + f.total

    def flush(self, tx: Transaction) -> None:
        """Upsert what was added."""
        if self._bins:
            tx.executemany(
                "INSERT INTO collector_bins (model, start_s, baseline_version, feature, bin, n) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (model, start_s, baseline_version, feature, bin) "
                "DO UPDATE SET n = collector_bins.n + excluded.n",
                ((*key, n) for key, n in self._bins.items()),
            )
        if self._totals:
            tx.executemany(
                "INSERT INTO collector_feature_totals "
                "(model, start_s, baseline_version, feature, missing, total) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (model, start_s, baseline_version, feature) DO UPDATE SET "
                "missing = collector_feature_totals.missing + excluded.missing, "
                "total = collector_feature_totals.total + excluded.total",
                ((*key, self._missing[key], total) for key, total in self._totals.items()),
            )
