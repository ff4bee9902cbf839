"""Expose prediction recorders' counts with a custom prometheus_client collector.

One collector per registry serves every recorder on it, so two models in one
process share metric families instead of clashing. Families are built fresh
on each scrape from the recorders' counters (names in ``inferwatch.contracts.names``).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from inferwatch.contracts.names import (
    CATEGORY_LABEL,
    FEATURE_CATEGORY_METRIC,
    FEATURE_LABEL,
    FEATURE_MISSING_METRIC,
    FEATURE_VALUE_METRIC,
    MODEL_LABEL,
    MODEL_VERSION_LABEL,
    RECORDS_METRIC,
)

if TYPE_CHECKING:
    from inferwatch.exporters.recorder import PredictionRecorder

DROPPED_METRIC = "inferwatch_recorder_dropped_total"
SHIPPED_METRIC = "inferwatch_recorder_shipped_total"
QUEUE_METRIC = "inferwatch_recorder_queued_windows"


class RecorderCollector(Collector):
    """Builds the recorder metric families of every attached recorder."""

    def __init__(self) -> None:
        self._recorders: list[PredictionRecorder] = []
        self._lock = threading.Lock()

    def attach(self, recorder: PredictionRecorder) -> None:
        """Publish ``recorder``'s counts."""
        with self._lock:
            self._recorders.append(recorder)

    def detach(self, recorder: PredictionRecorder) -> None:
        """Stop publishing ``recorder``'s counts."""
        with self._lock:
            if recorder in self._recorders:
                self._recorders.remove(recorder)

    def describe(self) -> Iterable[Metric]:
        """The family names, for the registry's duplicate check."""
        return list(_families())

    def collect(self) -> Iterator[Metric]:
        """Fresh families from the recorders' current counts."""
        values, categories, missing, records, dropped, shipped, queue = _families()
        with self._lock:
            recorders = list(self._recorders)
        for recorder in recorders:
            snap = recorder.snapshot()
            base = [snap.model, snap.model_version]
            if not recorder.expose_bins:
                snap = replace(snap, numeric=(), categorical=(), missing=())
            for feature in snap.numeric:
                cumulative = 0
                buckets = []
                for le, count in zip(feature.labels, feature.counts, strict=True):
                    cumulative += count
                    buckets.append((le, float(cumulative)))
                values.add_metric([*base, feature.name], buckets, feature.sum)
                if float(buckets[0][0]) < 0:
                    _add_count_and_sum(values, [*base, feature.name], buckets[-1][1], feature.sum)
            for feature in snap.categorical:
                for category, count in zip(feature.labels, feature.counts, strict=True):
                    categories.add_metric([*base, feature.name, category], float(count))
            for name, count in snap.missing:
                missing.add_metric([*base, name], float(count))
            records.add_metric(base, float(snap.records))
            for reason, count in snap.dropped:
                dropped.add_metric([snap.model, reason], float(count))
            shipped.add_metric([snap.model], float(snap.shipped))
            queue.add_metric([snap.model], float(snap.queued))
        yield from (values, categories, missing, records, dropped, shipped, queue)


def _add_count_and_sum(
    family: HistogramMetricFamily, labels: list[str], count: float, total: float
) -> None:
    """``_count`` and ``_sum`` that ``client_python`` leaves out when the first bucket
    edge is negative (it treats ``_sum`` as a counter; the text format does not, and
    Prometheus' Go client exposes both)."""
    named = dict(zip([MODEL_LABEL, MODEL_VERSION_LABEL, FEATURE_LABEL], labels, strict=True))
    family.samples.append(Sample(f"{FEATURE_VALUE_METRIC}_count", named, count))
    family.samples.append(Sample(f"{FEATURE_VALUE_METRIC}_sum", named, total))


def _families() -> tuple[
    HistogramMetricFamily,
    CounterMetricFamily,
    CounterMetricFamily,
    CounterMetricFamily,
    CounterMetricFamily,
    CounterMetricFamily,
    GaugeMetricFamily,
]:
    labels = [MODEL_LABEL, MODEL_VERSION_LABEL]
    return (
        HistogramMetricFamily(
            FEATURE_VALUE_METRIC,
            "Live values of numeric features, bucketed at the baseline's bin edges.",
            labels=[*labels, FEATURE_LABEL],
        ),
        CounterMetricFamily(
            FEATURE_CATEGORY_METRIC,
            "Live values of categorical features by baseline vocabulary (else __other__).",
            labels=[*labels, FEATURE_LABEL, CATEGORY_LABEL],
        ),
        CounterMetricFamily(
            FEATURE_MISSING_METRIC,
            "Live records where the feature was missing, null, NaN or not a number.",
            labels=[*labels, FEATURE_LABEL],
        ),
        CounterMetricFamily(RECORDS_METRIC, "Prediction records counted.", labels=labels),
        CounterMetricFamily(
            DROPPED_METRIC,
            "Records not delivered to the collector (their summary or sample dropped), by reason.",
            labels=["model", "reason"],
        ),
        CounterMetricFamily(
            SHIPPED_METRIC,
            "Records delivered to the collector (summarised or sampled).",
            labels=["model"],
        ),
        GaugeMetricFamily(
            QUEUE_METRIC, "Window summaries waiting to be shipped.", labels=["model"]
        ),
    )


_collectors: weakref.WeakKeyDictionary[CollectorRegistry, RecorderCollector] = (
    weakref.WeakKeyDictionary()
)
_collectors_lock = threading.Lock()


def collector_for(registry: CollectorRegistry) -> RecorderCollector:
    """The registry's recorder collector, registered on first use."""
    with _collectors_lock:
        found = _collectors.get(registry)
        if found is None:
            found = RecorderCollector()
            registry.register(found)
            _collectors[registry] = found
        return found
