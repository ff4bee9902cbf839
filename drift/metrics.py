"""``inferwatch_drift_*`` metrics: the latest evaluation of each model, on each scrape.

The engine records every evaluation (and every failure) on a ``DriftBoard``;
``DriftCollector`` turns the board into fresh metric families per scrape
(no state of its own), so a model's series always describe one evaluation.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from inferwatch.contracts.results import DriftEvaluation

OUTCOMES = ("drift", "no_drift", "not_enough_data", "error")
"""``outcome`` label values of ``inferwatch_drift_evaluations_total``."""


@dataclass
class DriftBoard:
    """The latest evaluation per model and the count of outcomes; thread-safe."""

    _latest: dict[str, DriftEvaluation] = field(default_factory=dict)
    _outcomes: dict[tuple[str, str], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, evaluation: DriftEvaluation) -> None:
        """A finished evaluation: it becomes the model's latest, its verdict is counted."""
        with self._lock:
            self._latest[evaluation.model] = evaluation
            key = (evaluation.model, evaluation.verdict)
            self._outcomes[key] = self._outcomes.get(key, 0) + 1

    def restore(self, evaluations: Iterable[DriftEvaluation]) -> None:
        """Latest evaluations from the store after a restart (counted as nothing new)."""
        with self._lock:
            for evaluation in evaluations:
                self._latest.setdefault(evaluation.model, evaluation)

    def failed(self, model: str) -> None:
        """An evaluation of ``model`` that raised."""
        with self._lock:
            key = (model, "error")
            self._outcomes[key] = self._outcomes.get(key, 0) + 1

    def latest(self, model: str) -> DriftEvaluation | None:
        """The model's latest evaluation seen by this process."""
        with self._lock:
            return self._latest.get(model)

    def snapshot(self) -> tuple[list[DriftEvaluation], dict[tuple[str, str], int]]:
        """Copies of the latest evaluations and the outcome counts."""
        with self._lock:
            return list(self._latest.values()), dict(self._outcomes)


class DriftCollector(Collector):
    """Exports a ``DriftBoard`` (register it on the service's registry)."""

    def __init__(self, board: DriftBoard) -> None:
        self.board = board

    def describe(self) -> list[Metric]:
        """Nothing: the series depend on the models evaluated (collect runs on scrape only)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Fresh families from the board's current state."""
        latest, outcomes = self.board.snapshot()
        per_feature = ["model", "feature", "method"]
        score = GaugeMetricFamily(
            "inferwatch_drift_score",
            "Statistic of the latest evaluation (PSI, JS, Hellinger, KS, Wasserstein, ...).",
            labels=per_feature,
        )
        p_value = GaugeMetricFamily(
            "inferwatch_drift_p_value",
            "p-value of the latest evaluation, for methods that have one.",
            labels=per_feature,
        )
        threshold = GaugeMetricFamily(
            "inferwatch_drift_threshold",
            "Threshold the statistic (or p-value) was compared with.",
            labels=per_feature,
        )
        detected = GaugeMetricFamily(
            "inferwatch_drift_detected",
            "1 when the latest evaluation found drift for this feature and method.",
            labels=per_feature,
        )
        dataset = GaugeMetricFamily(
            "inferwatch_drift_dataset_detected",
            "1 when the latest evaluation found dataset-level drift for the model.",
            labels=["model"],
        )
        drifted = GaugeMetricFamily(
            "inferwatch_drift_dataset_drifted_features",
            "Features with drift in the latest evaluation.",
            labels=["model"],
        )
        last = GaugeMetricFamily(
            "inferwatch_drift_last_evaluation_timestamp_seconds",
            "Unix time of the model's latest evaluation.",
            labels=["model"],
        )
        rows = GaugeMetricFamily(
            "inferwatch_drift_window_rows",
            "Rows of the window the latest evaluation looked at.",
            labels=["model"],
        )
        for evaluation in sorted(latest, key=lambda e: e.model):
            model = evaluation.model
            for result in evaluation.features:
                labels = [model, result.feature, result.method]
                if result.statistic is not None and math.isfinite(result.statistic):
                    score.add_metric(labels, result.statistic)
                if result.p_value is not None and math.isfinite(result.p_value):
                    p_value.add_metric(labels, result.p_value)
                threshold.add_metric(labels, result.threshold)
                detected.add_metric(labels, 1.0 if result.drifted else 0.0)
            dataset.add_metric([model], 1.0 if evaluation.drift_detected else 0.0)
            drifted.add_metric([model], float(len(evaluation.drifted_features)))
            last.add_metric([model], evaluation.evaluated_at.timestamp())
            rows.add_metric([model], float(evaluation.rows))
        total = CounterMetricFamily(
            "inferwatch_drift_evaluations",
            "Evaluations per model by outcome (drift, no_drift, not_enough_data, error).",
            labels=["model", "outcome"],
        )
        for (model, outcome), count in sorted(outcomes.items()):
            total.add_metric([model, outcome], float(count))
        yield from (score, p_value, threshold, detected, dataset, drifted, last, rows, total)
