"""Quality results in the state store: each window's latest judgement per metric."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from inferwatch.drift.quality._assess import QualityResult
from inferwatch.storage import Storage

_FIELDS = {f.name for f in fields(QualityResult)}


def result_from_dict(data: dict[str, Any]) -> QualityResult:
    """Inverse of ``QualityResult.to_dict`` (unknown keys ignored)."""
    return QualityResult(**{k: v for k, v in data.items() if k in _FIELDS})


@dataclass(frozen=True)
class Judged:
    """How a window was last judged: enough to tell whether its counts changed since."""

    baseline_version: int
    kind: str
    labelled_share: float
    rows: int


class QualityResultStore:
    """Upserts per (model, window, metric): a window judged again replaces its row."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def save(self, model: str, baseline_version: int, results: Iterable[QualityResult]) -> None:
        """Store (or revise) the results of windows (``start`` set on each)."""
        now = time.time()
        rows = [
            (
                model,
                int(r.start or 0),
                r.metric,
                baseline_version,
                r.kind,
                r.verdict,
                r.labelled_share,
                r.rows,
                now,
                json.dumps(r.to_dict()),
            )
            for r in results
        ]
        if not rows:
            return
        with self.storage.transaction() as tx:
            tx.executemany(
                "INSERT INTO drift_quality_results (model, window_start, metric, "
                "baseline_version, kind, verdict, labelled_share, rows, evaluated_at, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (model, window_start, metric) DO UPDATE SET "
                "baseline_version = excluded.baseline_version, kind = excluded.kind, "
                "verdict = excluded.verdict, labelled_share = excluded.labelled_share, "
                "rows = excluded.rows, evaluated_at = excluded.evaluated_at, "
                "body = excluded.body",
                rows,
            )

    def judged(self, model: str, *, since: float) -> dict[int, Judged]:
        """Per window started since ``since``: how it was last judged (no bodies read)."""
        found = self.storage.query(
            "SELECT DISTINCT window_start, baseline_version, kind, labelled_share, rows "
            "FROM drift_quality_results WHERE model = ? AND window_start >= ?",
            (model, int(since)),
        )
        return {
            int(start): Judged(int(version), str(kind), float(share), int(rows))
            for start, version, kind, share, rows in found
        }

    def history(self, model: str, *, limit: int = 1000) -> list[QualityResult]:
        """Newest windows first, every metric of each."""
        found = self.storage.query(
            "SELECT body FROM drift_quality_results WHERE model = ? "
            "ORDER BY window_start DESC, metric LIMIT ?",
            (model, limit),
        )
        return [result_from_dict(json.loads(str(row[0]))) for row in found]

    def prune(self, model: str, before: float) -> None:
        """Forget windows that started before ``before`` (epoch seconds)."""
        with self.storage.transaction() as tx:
            tx.execute(
                "DELETE FROM drift_quality_results WHERE model = ? AND window_start < ?",
                (model, int(before)),
            )
