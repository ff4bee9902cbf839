"""Windows read back from the state store, by any process that shares it.

The collector writes windows (``WindowStore``); a drift engine in another process, or
another replica, reads the same rows here: the accepted row count, the merged uniform
sample and the merged summaries' bin counts. Reads need only the store, never the
collector's settings, so core can build a reader for a process that runs no collector
(``inferwatch.registry.STORE_READERS``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from inferwatch.contracts.summary import FeatureSummary
from inferwatch.contracts.windows import LiveWindow
from inferwatch.storage import Storage


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


class WindowReader:
    """A model's windows as the store holds them (the ``WindowSource`` across processes)."""

    def __init__(self, storage: Storage, *, clock: Callable[[], float] = time.time) -> None:
        self._storage = storage
        self._clock = clock

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
        return self._window(model, int(start), int(end), int(rows), now)

    def closed_windows(
        self, model: str, *, ended_after: datetime | None, limit: int
    ) -> list[LiveWindow]:
        """Closed windows that ended after ``ended_after``, oldest first, at most ``limit``
        (the newest ``limit`` of them: what is older than that is left behind, not read)."""
        now = self._clock()
        after = -1 if ended_after is None else int(ended_after.timestamp())
        found = self._storage.query(
            "SELECT start_s, end_s, rows FROM collector_windows "
            "WHERE model = ? AND end_s <= ? AND end_s > ? ORDER BY start_s DESC LIMIT ?",
            (model, now, after, limit),
        )
        return [
            self._window(model, int(start), int(end), int(rows), now)
            for start, end, rows in reversed(found)
        ]

    def _window(self, model: str, start: int, end: int, rows: int, now: float) -> LiveWindow:
        records = self._storage.query(
            "SELECT record FROM collector_samples WHERE model = ? AND start_s = ? ORDER BY slot",
            (model, start),
        )
        sample = pd.DataFrame([json.loads(r[0]) for r in records])
        version, counts = self.counts(model, start)
        return LiveWindow(
            model=model,
            start=_utc(start),
            end=_utc(end),
            rows=rows,
            sample=sample,
            closed=end <= now,
            baseline_version=version,
            counts=counts,
        )

    def counts(self, model: str, start: int) -> tuple[int | None, dict[str, FeatureSummary]]:
        """Merged summaries' counts of one window, for its newest baseline version."""
        found = self._storage.query(
            "SELECT MAX(baseline_version) FROM collector_feature_totals "
            "WHERE model = ? AND start_s = ?",
            (model, start),
        )
        if not found or found[0][0] is None:
            return None, {}
        version = int(found[0][0])
        bins: dict[str, dict[int, int]] = {}
        for feature, index, n in self._storage.query(
            "SELECT feature, bin, n FROM collector_bins "
            "WHERE model = ? AND start_s = ? AND baseline_version = ?",
            (model, start, version),
        ):
            bins.setdefault(str(feature), {})[int(index)] = int(n)
        out: dict[str, FeatureSummary] = {}
        for feature, missing, total in self._storage.query(
            "SELECT feature, missing, total FROM collector_feature_totals "
            "WHERE model = ? AND start_s = ? AND baseline_version = ?",
            (model, start, version),
        ):
            per_bin = bins.get(str(feature), {})
            size = max(per_bin, default=-1) + 1
            out[str(feature)] = FeatureSummary(
                str(feature),
                tuple(per_bin.get(i, 0) for i in range(size)),
                int(missing),
                float(total),
            )
        return version, out

    def outcome_cells(
        self, model: str, *, started_after: datetime | None = None
    ) -> list[tuple[datetime, int, dict[str, float]]]:
        """Per window (oldest first) and baseline version, the summed outcome cells
        (``inferwatch.contracts.outcomes.summary_of`` reads them)."""
        after = -1 if started_after is None else int(started_after.timestamp())
        found: dict[tuple[int, int], dict[str, float]] = {}
        for start, version, cell, value in self._storage.query(
            "SELECT start_s, baseline_version, cell, value FROM collector_outcome_cells "
            "WHERE model = ? AND start_s > ? ORDER BY start_s",
            (model, after),
        ):
            found.setdefault((int(start), int(version)), {})[str(cell)] = float(value)
        return [(_utc(start), version, cells) for (start, version), cells in found.items()]


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)
