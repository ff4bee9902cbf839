"""Typed, immutable drift results: what the drift engine hands the other parts.

One ``FeatureResult`` per feature and method, one ``DriftEvaluation`` per model and
window. Both data paths (binned counts from Prometheus, raw samples from the
collector) produce the same types; the engine stores them, exports them as
``inferwatch_drift_*`` metrics and serves them over HTTP, and the actions read them
(retraining payloads). ``BinnedCounts`` is one feature's live counts in the
baseline's bins, the histogram path's input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

Verdict = Literal["drift", "no_drift", "not_enough_data", "schema_change"]
"""A feature's verdict; a dataset's is never ``schema_change`` (a decisive one is ``drift``)."""
DataPath = Literal["sample", "histogram", "summary"]
"""Where a window's data came from: raw rows, Prometheus histograms, or merged summaries
(bin counts over all traffic, the merged sample for sample-based methods)."""


@dataclass(frozen=True)
class BinnedCounts:
    """Live counts of one feature in the baseline's bins (order of ``FeatureSpec.bin_labels``)."""

    counts: tuple[int, ...]
    missing: int = 0

    @classmethod
    def of(cls, counts: np.ndarray | list[int] | tuple[int, ...], missing: int = 0) -> BinnedCounts:
        """Build from any integer sequence."""
        return cls(counts=tuple(int(c) for c in counts), missing=int(missing))

    @property
    def rows(self) -> int:
        """Rows in the window, missing ones included."""
        return sum(self.counts) + self.missing


@dataclass(frozen=True)
class FeatureResult:
    """One method's verdict on one feature."""

    feature: str
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    verdict: Verdict
    rows: int
    missing: int = 0
    detail: str = ""
    """Why, in words, when the verdict needs it (e.g. "bin-resolved KS", "not enough data")."""
    raw_p_value: float | None = None
    """A test's p-value before multiple-testing correction (``p_value`` is the adjusted one)."""
    effect_method: str | None = None
    """For a test: the distance used as its effect size (e.g. ``jensen_shannon``)."""
    effect: float | None = None
    """For a test: the effect size; drift needs it at or above ``effect_threshold``."""
    effect_threshold: float | None = None
    """For a test: the minimum effect size (the policy's floor)."""


@dataclass(frozen=True)
class DriftEvaluation:
    """A model's window compared with its baseline: per-feature results and one verdict."""

    model: str
    baseline_version: int
    path: DataPath
    rows: int
    features: tuple[FeatureResult, ...]
    drift_detected: bool
    verdict: Verdict
    window_start: datetime | None = None
    window_end: datetime | None = None
    evaluated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def drifted_features(self) -> tuple[str, ...]:
        """Names of the features with at least one drifted method."""
        return tuple(sorted({r.feature for r in self.features if r.drifted}))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (datetimes as ISO 8601)."""
        data = asdict(self)
        for key in ("window_start", "window_end", "evaluated_at"):
            value = data[key]
            data[key] = value.isoformat() if isinstance(value, datetime) else None
        data["drifted_features"] = list(self.drifted_features)
        return data
