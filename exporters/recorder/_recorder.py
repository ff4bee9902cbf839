"""The prediction recorder: bins live values against a baseline, next to the model.

``record(features, prediction=...)`` costs a few microseconds: per numeric
feature one ``bisect`` on the baseline's edges, per categorical feature one dict
look-up, all under one lock. ``record_batch`` does the same for a whole frame
with numpy (``searchsorted``, ``bincount``) and one name per distinct category.
Both follow the contract's rules (``inferwatch.contracts``: binning, category
counting, reservoir), so they count exactly as the baseline counted the
reference; no pandas is imported. Counts are published on the registry (see
``recorder._metrics``) under the contract's names; a bounded reservoir sample of
each flush interval is shipped to the collector by a background thread
(``recorder._shipper``), which drops and counts rather than ever blocking the model.

Example:
    >>> import pandas as pd
    >>> from prometheus_client import CollectorRegistry
    >>> from inferwatch.drift.baseline import infer_baseline
    >>> base = infer_baseline("churn", pd.DataFrame({"age": [20, 30, 40], "plan": list("aab")}))
    >>> recorder = PredictionRecorder(base, registry=CollectorRegistry())
    >>> recorder.record({"age": 33, "plan": "z"})
    >>> recorder.snapshot().categorical[0].counts
    (0, 0, 1)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
from prometheus_client import REGISTRY, CollectorRegistry

from inferwatch.contracts.binning import bin_index, bin_numbers, to_number
from inferwatch.contracts.categories import category_key, count_categories, is_missing
from inferwatch.contracts.sample import Reservoir
from inferwatch.contracts.spec import BaselineSpec, FeatureSpec
from inferwatch.contracts.summary import FeatureSummary, WindowSummary, sample_row
from inferwatch.exporters.recorder._metrics import collector_for
from inferwatch.exporters.recorder._shipper import Shipper
from inferwatch.exporters.recorder.baseline import load_baseline
from inferwatch.exporters.recorder.settings import INTERVAL_SAMPLE_SIZE, RecorderSettings

if TYPE_CHECKING:  # for the annotation only: the recorder never imports pandas
    import pandas as pd

Rows: TypeAlias = "pd.DataFrame | Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]]"
"""``{feature: values}``, a list of rows, or a pandas DataFrame (read through its
``columns``)."""


@dataclass(frozen=True)
class FeatureCounts:
    """One feature's live counts per baseline bin."""

    name: str
    labels: tuple[str, ...]
    counts: tuple[int, ...]
    sum: float = 0.0


@dataclass(frozen=True)
class RecorderSnapshot:
    """A consistent copy of a recorder's counters."""

    model: str
    model_version: str
    records: int
    numeric: tuple[FeatureCounts, ...]
    categorical: tuple[FeatureCounts, ...]
    missing: tuple[tuple[str, int], ...]
    dropped: tuple[tuple[str, int], ...]
    shipped: int
    queued: int = 0
    """Summaries waiting to be shipped."""


class _Numeric:
    __slots__ = ("counts", "edges", "missing", "name", "spec", "total")

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.edges = list(spec.edges)
        self.counts = [0] * (len(spec.edges) + 1)
        self.total = 0.0
        self.missing = 0


class _Category:
    __slots__ = ("counts", "lookup", "missing", "name", "other", "spec")

    def __init__(self, spec: FeatureSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.lookup = {v: i for i, v in enumerate(spec.vocabulary)}
        self.other = len(spec.vocabulary)
        self.counts = [0] * (self.other + 1)
        self.missing = 0


class PredictionRecorder:
    """Counts a model's live feature values into its baseline's bins.

    ``collector_url`` is one collector or several replicas: the shipper sends to the
    first and moves on to the next when one does not take a summary.
    """

    def __init__(
        self,
        baseline: BaselineSpec,
        *,
        registry: CollectorRegistry | None = REGISTRY,
        collector_url: str | Sequence[str] | None = None,
        model_version: str = "",
        reservoir_size: int = INTERVAL_SAMPLE_SIZE,
        flush_interval_seconds: float = 10.0,
        timeout_seconds: float = 5.0,
        api_token: str | None = None,
        prediction_feature: str = "prediction",
        seed: int | None = None,
        ship: Literal["summary", "records"] = "summary",
        max_pending_summaries: int = 6,
        expose_bins: bool = False,
    ) -> None:
        self.baseline = baseline
        self.model = baseline.model
        self.model_version = model_version
        self.reservoir_size = reservoir_size
        self.expose_bins = expose_bins
        """Publish the per-bin series (the histogram path, for small fleets); else only
        the recorder's health and its record count."""
        self._prediction_feature = (
            prediction_feature if prediction_feature in baseline.feature_names else None
        )
        self._numeric = [_Numeric(s) for s in baseline.features if s.kind == "numeric"]
        self._category = [_Category(s) for s in baseline.features if s.kind != "numeric"]
        self._order = {name: i for i, name in enumerate(baseline.feature_names)}
        self._lock = threading.Lock()
        self._records = 0
        self._sample: Reservoir[Mapping[str, Any]] = Reservoir(reservoir_size, seed=seed)
        self._registry = registry
        if registry is not None:
            collector_for(registry).attach(self)
        self.shipper = Shipper(
            self,
            collector_url=collector_url,
            interval_seconds=flush_interval_seconds,
            timeout_seconds=timeout_seconds,
            api_token=api_token,
            ship=ship,
            max_pending=max_pending_summaries,
        )
        self._taken = self._totals()
        """Counters at the last ``take_summary``: a summary holds the difference."""
        if collector_url:
            self.shipper.start()

    @classmethod
    def from_settings(
        cls, settings: RecorderSettings, *, registry: CollectorRegistry | None = REGISTRY
    ) -> PredictionRecorder:
        """A recorder configured by ``exporters.recorder`` settings (baseline file or URL)."""
        token = settings.api_token.get_secret_value() if settings.api_token else None
        baseline = load_baseline(
            file=settings.baseline_file,
            drift_url=settings.drift_url,
            model=settings.model,
            api_token=token,
            timeout_seconds=settings.timeout_seconds,
        )
        return cls(
            baseline,
            registry=registry,
            collector_url=[u for u in (settings.collector_url, *settings.collector_urls) if u],
            model_version=settings.model_version,
            reservoir_size=settings.reservoir_size,
            flush_interval_seconds=settings.flush_interval_seconds,
            timeout_seconds=settings.timeout_seconds,
            api_token=token,
            prediction_feature=settings.prediction_feature,
            ship=settings.ship,
            max_pending_summaries=settings.max_pending_summaries,
            expose_bins=settings.expose_bins,
        )

    # -- hot path --------------------------------------------------------------------

    def record(self, features: Mapping[str, Any], prediction: Any = None) -> None:
        """Count one record (and its prediction, when the baseline has that feature)."""
        if prediction is not None and self._prediction_feature is not None:
            features = {**features, self._prediction_feature: prediction}
        get = features.get
        with self._lock:
            self._records += 1
            for num in self._numeric:
                value = get(num.name)
                x = value if value.__class__ is float else to_number(value)
                if x != x:  # noqa: PLR0124 - NaN (missing or not a number), cheaper than isnan
                    num.missing += 1
                    continue
                num.counts[bin_index(num.edges, x)] += 1
                num.total += x
            for cat in self._category:
                value = get(cat.name)
                if value.__class__ is str:
                    key = value
                elif is_missing(value):
                    cat.missing += 1
                    continue
                else:
                    key = category_key(value)
                cat.counts[cat.lookup.get(key, cat.other)] += 1
            self._sample.add(dict(features))

    def record_batch(self, rows: Rows, predictions: Sequence[Any] | None = None) -> None:
        """Count many records at once (a DataFrame, ``{feature: values}`` or a list of rows)."""
        frame = _columns(rows)
        n = len(next(iter(frame.values()))) if frame else 0
        if predictions is not None and self._prediction_feature is not None:
            frame = {**frame, self._prediction_feature: list(predictions)}
        numeric = [
            (num, *_count_numeric(num.spec, frame.get(num.name), n)) for num in self._numeric
        ]
        category = [
            (cat, *_count_category(cat.spec, frame.get(cat.name), n)) for cat in self._category
        ]
        with self._lock:
            self._records += n
            for num, counts, missing, total in numeric:
                for i, c in enumerate(counts.tolist()):
                    num.counts[i] += c
                num.missing += missing
                num.total += total
            for cat, counts, missing in category:
                for i, c in enumerate(counts.tolist()):
                    cat.counts[i] += c
                cat.missing += missing
            self._sample.add_batch(n, lambda index: _rows_at(frame, index))

    # -- reading and shipping ----------------------------------------------------------

    def take_sample(self) -> tuple[list[Mapping[str, Any]], int]:
        """Hand over this interval's sample and how many records it was drawn from."""
        with self._lock:
            return self._sample.take()

    def take_summary(self, start: float, end: float) -> WindowSummary:
        """This interval's summary: the counts since the last one (the same counters the
        histogram path exposes, so one counting path) and the interval's sample."""
        with self._lock:
            totals = self._totals()
            sample, seen = self._sample.take()
            previous, self._taken = self._taken, totals
        features = tuple(
            FeatureSummary(
                name,
                tuple(a - b for a, b in zip(counts, previous[name][0], strict=True)),
                missing - previous[name][1],
                total - previous[name][2],
            )
            for name, (counts, missing, total) in totals.items()
        )
        return WindowSummary(
            model=self.model,
            baseline_version=self.baseline.version,
            start=start,
            end=end,
            rows=seen,
            features=tuple(sorted(features, key=lambda f: self._order[f.name])),
            sample=tuple(sample_row(self.baseline, row) for row in sample),
            sampled_from=seen,
        )

    def _totals(self) -> dict[str, tuple[tuple[int, ...], int, float]]:
        """Cumulative counts, missing and sum per feature (the caller holds the lock)."""
        out: dict[str, tuple[tuple[int, ...], int, float]] = {
            n.name: (tuple(n.counts), n.missing, n.total) for n in self._numeric
        }
        for c in self._category:
            out[c.name] = (tuple(c.counts), c.missing, 0.0)
        return out

    def snapshot(self) -> RecorderSnapshot:
        """A copy of every counter, taken under the lock."""
        with self._lock:
            numeric = tuple(
                FeatureCounts(n.name, n.spec.bin_labels, tuple(n.counts), n.total)
                for n in self._numeric
            )
            categorical = tuple(
                FeatureCounts(c.name, c.spec.bin_labels, tuple(c.counts)) for c in self._category
            )
            missing = (
                *((n.name, n.missing) for n in self._numeric),
                *((c.name, c.missing) for c in self._category),
            )
            records = self._records
        return RecorderSnapshot(
            model=self.model,
            model_version=self.model_version,
            records=records,
            numeric=numeric,
            categorical=categorical,
            missing=missing,
            dropped=self.shipper.dropped(),
            shipped=self.shipper.shipped,
            queued=self.shipper.queued,
        )

    def flush(self) -> None:
        """Ship the current sample now (blocking; for shutdown and tests)."""
        self.shipper.ship_once()

    def close(self) -> None:
        """Ship what is left, stop the shipper and unpublish the metrics; idempotent."""
        self.shipper.stop()
        if self._registry is not None:
            collector_for(self._registry).detach(self)

    def to_rows(self, sample: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
        """A sample as columnar JSON the collector accepts (baseline features only)."""
        out: dict[str, list[Any]] = {}
        for num in self._numeric:
            out[num.name] = [_json_number(r.get(num.name)) for r in sample]
        for cat in self._category:
            out[cat.name] = [_json_category(r.get(cat.name)) for r in sample]
        return out


def _columns(rows: Rows) -> dict[str, Any]:
    if isinstance(rows, Mapping):
        return dict(rows)
    columns = getattr(rows, "columns", None)
    if columns is not None:  # a DataFrame: its columns, as they are
        return {str(c): rows[c] for c in columns}
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return {name: [r.get(name) for r in rows] for name in names}


def _values(values: Any) -> np.ndarray | Sequence[Any]:
    """A column as a list or a numpy array (a pandas Series through ``__array__``)."""
    if isinstance(values, np.ndarray | list | tuple):
        return values
    return np.asarray(values)


def _count_numeric(spec: FeatureSpec, values: Any, n: int) -> tuple[np.ndarray, int, float]:
    if values is None:
        return np.zeros(len(spec.edges) + 1, dtype=np.int64), n, 0.0
    return bin_numbers(spec.edges, _values(values))


def _count_category(spec: FeatureSpec, values: Any, n: int) -> tuple[np.ndarray, int]:
    if values is None:
        return np.zeros(len(spec.vocabulary) + 1, dtype=np.int64), n
    return count_categories(spec.vocabulary, _values(values))


def _rows_at(frame: Mapping[str, Any], index: np.ndarray) -> list[dict[str, Any]]:
    """The records at ``index`` as plain Python rows (only the sampled ones are built)."""
    picked = {name: _pick(values, index) for name, values in frame.items()}
    return [{name: column[p] for name, column in picked.items()} for p in range(len(index))]


def _pick(values: Any, index: np.ndarray) -> list[Any]:
    """The values at ``index`` as plain Python objects."""
    column = _values(values)
    if isinstance(column, np.ndarray):
        return list(column[index].tolist())
    return [column[i] for i in index.tolist()]


def _json_number(value: Any) -> float | None:
    x = to_number(value)
    return x if math.isfinite(x) else None


def _json_category(value: Any) -> str | None:
    if is_missing(value):
        return None
    if isinstance(value, str | bool | int | float | np.generic):
        return category_key(value)
    return None
