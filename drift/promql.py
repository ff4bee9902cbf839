"""The histogram path's reads through the one PromQL client (``inferwatch.promql``).

Works against anything that speaks ``/api/v1/query`` (Prometheus, Thanos,
Mimir). The drift engine asks three queries per model and evaluation, whatever
the number of pods or features: bucket, category and missing increases over the
window, summed across series (``sum by (feature, le)``) so the fleet's window
is one set of counts. Counts come back in the baseline's bins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from inferwatch.contracts.categories import OTHER, counts_in
from inferwatch.contracts.names import (
    BUCKET_LABEL,
    CATEGORY_LABEL,
    FEATURE_CATEGORY_METRIC,
    FEATURE_LABEL,
    FEATURE_MISSING_METRIC,
    FEATURE_VALUE_METRIC,
    MODEL_LABEL,
)
from inferwatch.contracts.results import BinnedCounts
from inferwatch.contracts.spec import FeatureSpec
from inferwatch.drift.baseline import Baseline
from inferwatch.drift.engine_errors import PromQLError
from inferwatch.promql import PromQLClient, Sample

__all__ = [
    "PrometheusClient",
    "Sample",
    "category_counts",
    "decumulate",
    "label_value",
    "read_window_counts",
    "window_queries",
]


class PrometheusClient(PromQLClient):
    """The core PromQL client, raising the drift engine's ``PromQLError``.

    Example:
        >>> client = PrometheusClient("http://127.0.0.1:9090")
        >>> client.base_url
        'http://127.0.0.1:9090'
        >>> client.close()
    """

    error = PromQLError

    def query(self, promql: str, *, at: datetime | None = None) -> list[Sample]:
        """Evaluate ``promql`` at ``at`` (default now); the result must be an instant vector."""
        return self.instant(promql, at.timestamp() if at is not None else None)


def label_value(value: str) -> str:
    """A string as a PromQL double-quoted label value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def window_queries(model: str, window_seconds: int) -> dict[str, str]:
    """The three PromQL queries of one model's window."""
    selector = "{" + MODEL_LABEL + "=" + label_value(model) + "}"
    window = f"[{int(window_seconds)}s]"
    feature = FEATURE_LABEL
    return {
        "buckets": f"sum by ({feature}, {BUCKET_LABEL}) (increase({FEATURE_VALUE_METRIC}_bucket"
        f"{selector}{window}))",
        "categories": f"sum by ({feature}, {CATEGORY_LABEL}) (increase({FEATURE_CATEGORY_METRIC}"
        f"{selector}{window}))",
        "missing": f"sum by ({feature}) (increase({FEATURE_MISSING_METRIC}{selector}{window}))",
    }


def read_window_counts(
    client: PrometheusClient,
    baseline: Baseline,
    *,
    window_seconds: int,
    at: datetime | None = None,
) -> dict[str, BinnedCounts]:
    """Each baseline feature's live counts over the window ending at ``at``.

    A feature with no series at all gets zero counts (the statistics then say
    "not enough data"); a histogram whose buckets do not include the baseline's
    edges is an error, never a silent re-binning.
    """
    queries = window_queries(baseline.model, window_seconds)
    buckets = _by_feature(client.query(queries["buckets"], at=at))
    categories = _by_feature(client.query(queries["categories"], at=at))
    missing = {
        f: sum(s.value for s in samples)
        for f, samples in _by_feature(client.query(queries["missing"], at=at)).items()
    }
    counts: dict[str, BinnedCounts] = {}
    for spec in baseline.features:
        if spec.kind == "numeric":
            bins = decumulate(spec, buckets.get(spec.name, []))
        else:
            bins = category_counts(spec, categories.get(spec.name, []))
        counts[spec.name] = BinnedCounts.of(bins, missing=_whole(missing.get(spec.name, 0.0)))
    return counts


def _by_feature(samples: Sequence[Sample]) -> dict[str, list[Sample]]:
    grouped: dict[str, list[Sample]] = {}
    for sample in samples:
        grouped.setdefault(sample.labels.get(FEATURE_LABEL, ""), []).append(sample)
    return grouped


def _whole(value: float) -> int:
    """A count from ``increase`` (extrapolated, so fractional) as a non-negative integer."""
    if not math.isfinite(value):
        return 0
    return max(0, round(value))


def decumulate(spec: FeatureSpec, samples: Sequence[Sample]) -> list[int]:
    """Cumulative ``le`` buckets to counts in the spec's bins (edges then ``+Inf``)."""
    if not samples:
        return [0] * (len(spec.edges) + 1)
    cumulative: dict[float, float] = {}
    for sample in samples:
        try:
            cumulative[float(sample.labels[BUCKET_LABEL])] = sample.value
        except (KeyError, ValueError) as exc:
            raise PromQLError(
                f"feature {spec.name!r}: bucket series without a numeric le label"
            ) from exc
    wanted = [*spec.edges, math.inf]
    absent = [edge for edge in wanted if edge not in cumulative]
    if absent:
        shown = ", ".join(repr(e) for e in absent[:5])
        raise PromQLError(
            f"feature {spec.name!r}: the live histogram has no bucket at le={shown}; the "
            "recorder's buckets differ from the baseline's edges (same baseline version?)"
        )
    running = np.array([cumulative[edge] for edge in wanted], dtype=float)
    per_bin = np.diff(np.concatenate([[0.0], running]))
    return [_whole(v) for v in per_bin]


def category_counts(spec: FeatureSpec, samples: Sequence[Sample]) -> list[int]:
    """Counts per vocabulary entry then ``__other__``; unknown categories count as other."""
    totals: dict[str, float] = {}
    for sample in samples:
        category = sample.labels.get(CATEGORY_LABEL, OTHER)
        totals[category] = totals.get(category, 0.0) + sample.value
    return [_whole(v) for v in counts_in(spec.vocabulary, totals).tolist()]
