"""``inferwatch_model_*`` metrics: each model's newest realized and estimated quality.

The tracker hands the board each model's stored results after every round (so every
drift replica exports what the store holds); ``QualityCollector`` turns it into fresh
families per scrape. Per model and kind (``realized``, ``estimated``), the newest window
with results of that kind is exported: labels arrive late, so the realized series
usually describe an older window than the estimated ones.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from inferwatch.drift.quality._assess import QualityResult


class QualityBoard:
    """The newest results per model and kind; thread-safe."""

    def __init__(self) -> None:
        self._newest: dict[str, dict[str, list[QualityResult]]] = {}
        self._lock = threading.Lock()

    def update(self, model: str, history: Iterable[QualityResult]) -> None:
        """Results of ``model``, any order: the newest window per kind is kept."""
        by_kind: dict[str, list[QualityResult]] = {}
        starts: dict[str, float] = {}
        for result in history:
            start = result.start or 0.0
            if start > starts.get(result.kind, -math.inf):
                starts[result.kind] = start
                by_kind[result.kind] = []
            if start == starts[result.kind]:
                by_kind[result.kind].append(result)
        with self._lock:
            self._newest[model] = by_kind

    def snapshot(self) -> dict[str, dict[str, list[QualityResult]]]:
        """A copy of the newest results per model and kind."""
        with self._lock:
            return {m: {k: list(v) for k, v in kinds.items()} for m, kinds in self._newest.items()}


class QualityCollector(Collector):
    """Exports a ``QualityBoard``."""

    def __init__(self, board: QualityBoard) -> None:
        self.board = board

    def describe(self) -> list[Metric]:
        """Nothing: the series depend on the models judged (collect runs on scrape only)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Fresh families from the board."""
        labels = ["model", "metric", "kind"]
        value = GaugeMetricFamily(
            "inferwatch_model_performance",
            "A model's performance metric in its newest window of that kind (realized from "
            "labels, or estimated from scores before them).",
            labels=labels,
        )
        lower = GaugeMetricFamily(
            "inferwatch_model_performance_lower",
            "Lower end of the reference band at the window's size.",
            labels=labels,
        )
        upper = GaugeMetricFamily(
            "inferwatch_model_performance_upper",
            "Upper end of the reference band at the window's size.",
            labels=labels,
        )
        degraded = GaugeMetricFamily(
            "inferwatch_model_performance_degraded",
            "1 when the metric is past the reference band on the bad side or past the "
            "policy's floor (ceiling) in that window.",
            labels=labels,
        )
        share = GaugeMetricFamily(
            "inferwatch_model_labelled_share",
            "Share of the window's predictions that have their actual.",
            labels=["model", "kind"],
        )
        start = GaugeMetricFamily(
            "inferwatch_model_performance_window_start_seconds",
            "Start (Unix time) of the window the kind's series describe.",
            labels=["model", "kind"],
        )
        for model, kinds in sorted(self.board.snapshot().items()):
            for kind, results in sorted(kinds.items()):
                if results:
                    share.add_metric([model, kind], results[0].labelled_share)
                    start.add_metric([model, kind], results[0].start or 0.0)
                for r in results:
                    key = [model, r.metric, kind]
                    for family, number in ((value, r.value), (lower, r.lower), (upper, r.upper)):
                        if number is not None and math.isfinite(number):
                            family.add_metric(key, number)
                    if r.verdict != "not_enough_data":
                        degraded.add_metric(key, 1.0 if r.verdict == "degraded" else 0.0)
        yield from (value, lower, upper, degraded, share, start)
