"""Model quality in the drift engine: each window judged, and judged again as labels arrive.

For a model whose baseline names its outcome columns (``BaselineSpec.quality``), the
engine reads every window's outcome counts from the collectors' store (any process)
within ``drift.quality_horizon_seconds``:

- a window just evaluated for drift is judged with its merged sample at hand, so a
  binary classifier's window is *estimated* (CBPE on its scores) while fewer than
  ``realized_share`` of its predictions have their actual;
- every window is judged again each round once its labelled share reaches
  ``realized_share``: *realized* metrics replace the estimate in the store
  (``drift_quality_results``: one row per window and metric, revised in place).

The reference (its metrics, bootstrap band, score calibration) is built once per
baseline version from the baseline's reference sample, which keeps the outcome columns.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from inferwatch.contracts.categories import category_key, is_missing
from inferwatch.contracts.outcomes import Summary, score_edges, summary_of
from inferwatch.contracts.spec import QualitySpec
from inferwatch.contracts.windows import LiveWindow, WindowSource
from inferwatch.drift.baseline import Baseline
from inferwatch.drift.quality._assess import QualityMonitor, QualityResult
from inferwatch.drift.quality._board import QualityBoard
from inferwatch.drift.quality._estimate import ConfidenceEstimator
from inferwatch.drift.quality._policy import QualityPolicy
from inferwatch.drift.quality._reference import QualityInputError, ReferencePerformance
from inferwatch.drift.quality._store import Judged, QualityResultStore

log = logging.getLogger("inferwatch.drift.quality")


def build_monitor(baseline: Baseline, policy: QualityPolicy) -> QualityMonitor:
    """The reference's performance (and calibration) from the baseline's sample."""
    spec = baseline.quality
    assert spec is not None
    sample = baseline.sample
    missing = [c for c in (spec.prediction, spec.target) if c not in sample.columns]
    if missing:
        raise QualityInputError(f"the reference sample has no column(s) {', '.join(missing)}")
    actual = sample[spec.target].tolist()
    predicted = sample[spec.prediction].tolist()
    if spec.kind == "regression":
        reference = ReferencePerformance.regressor(
            actual, predicted, residual_edges=spec.residual_edges, policy=policy
        )
        return QualityMonitor(reference, policy=policy)
    scores = {label: sample[column].tolist() for label, column in spec.scores}
    edges = score_edges(spec)
    reference = ReferencePerformance.classifier(
        actual,
        predicted,
        scores or None,
        positive=spec.positive,
        score_edges=edges,
        policy=policy,
    )
    estimator = None
    positive_score = _positive_column(spec)
    if positive_score is not None:
        known = np.array([not is_missing(a) for a in actual], dtype=bool)
        is_positive = np.array([category_key(a) == category_key(spec.positive) for a in actual])
        estimator = ConfidenceEstimator(
            is_positive[known], sample[positive_score].to_numpy(dtype=float)[known], policy
        )
    threshold = decision_threshold(baseline, edges)
    return QualityMonitor(reference, estimator, policy, threshold=threshold)


def decision_threshold(baseline: Baseline, edges: tuple[float, ...]) -> float | None:
    """The score bin edge at which the reference's predictions turn positive, when the
    predictions are a threshold of the positive class's score at one of ``edges`` (else
    None: a window without row scores cannot be estimated from its bins)."""
    spec = baseline.quality
    column = None if spec is None else _positive_column(spec)
    if spec is None or column is None:
        return None
    sample = baseline.sample[[column, spec.prediction]].dropna()
    positive = category_key(spec.positive)
    is_positive = np.array([category_key(v) == positive for v in sample[spec.prediction]])
    scores = sample[column].to_numpy(dtype=float)
    if not is_positive.any() or is_positive.all():
        return None
    lowest_positive, highest_negative = scores[is_positive].min(), scores[~is_positive].max()
    between = [e for e in edges if highest_negative <= e < lowest_positive]
    return float(between[0]) if between else None


def _positive_column(spec: QualitySpec) -> str | None:
    if spec.positive is None:
        return None
    for label, column in spec.scores:
        if category_key(label) == category_key(spec.positive):
            return column
    return None


class QualityTracker:
    """Judges models' windows and keeps the results and the board current."""

    def __init__(
        self,
        results: QualityResultStore,
        board: QualityBoard,
        windows: Callable[[], WindowSource | None],
        *,
        policy: QualityPolicy,
        horizon_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.results = results
        self.board = board
        self.windows = windows
        self.policy = policy
        self.horizon_seconds = horizon_seconds
        self.clock = clock
        self._monitors: dict[tuple[str, int], QualityMonitor] = {}
        self._lock = threading.Lock()

    def monitor(self, baseline: Baseline) -> QualityMonitor:
        """The baseline's monitor, built once per version."""
        key = (baseline.model, baseline.version)
        with self._lock:
            found = self._monitors.get(key)
        if found is None:
            found = build_monitor(baseline, self.policy)
            with self._lock:
                self._monitors[key] = found
        return found

    def track(self, baseline: Baseline, fresh: list[LiveWindow]) -> list[QualityResult]:
        """Judge ``fresh`` windows (estimates from their samples) and revise the others."""
        spec = baseline.quality
        source = self.windows()
        if spec is None or source is None:
            return []
        monitor = self.monitor(baseline)
        now = self.clock()
        samples = {int(w.start.timestamp()): w.sample for w in fresh}
        oldest = now - self.horizon_seconds
        judged = self.results.judged(baseline.model, since=oldest)
        done: list[QualityResult] = []
        since = datetime.fromtimestamp(oldest, UTC)
        for start, version, cells in source.outcome_cells(baseline.model, started_after=since):
            if version != baseline.version:
                continue
            summary = summary_of(spec, cells)
            begin = int(start.timestamp())
            sample = samples.get(begin)
            if sample is None and _unchanged(judged.get(begin), summary, monitor, version):
                continue
            scores, predicted = _estimate_inputs(spec, sample)  # else the score bins
            results = monitor.assess(
                summary, scores=scores, predicted_positive=predicted, start=begin
            )
            self.results.save(baseline.model, baseline.version, results)
            done += results
        self.results.prune(baseline.model, now - self.horizon_seconds)
        self.board.update(baseline.model, self.results.history(baseline.model, limit=500))
        return done


def _unchanged(
    last: Judged | None, summary: Summary, monitor: QualityMonitor, version: int
) -> bool:
    """Nothing to judge again: a window's estimate stays until enough labels arrive, and
    a realized judgement stays while no label has arrived since."""
    if last is None or last.baseline_version != version:
        return False
    if summary.labelled_share < monitor.policy.realized_share:
        return True
    return (
        last.kind == "realized"
        and last.labelled_share == summary.labelled_share
        and last.rows == summary.labelled
    )


def _estimate_inputs(
    spec: QualitySpec, sample: pd.DataFrame | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A binary classifier's scores and predicted-positive flags from a window's sample."""
    column = _positive_column(spec)
    if sample is None or column is None or sample.empty:
        return None, None
    if column not in sample.columns or spec.prediction not in sample.columns:
        return None, None
    rows = sample[[column, spec.prediction]].dropna()
    if rows.empty:
        return None, None
    positive = category_key(spec.positive)
    predicted = np.array([category_key(v) == positive for v in rows[spec.prediction]])
    return rows[column].to_numpy(dtype=float), predicted
