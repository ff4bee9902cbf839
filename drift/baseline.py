"""Baselines: what "normal" looks like for one model, fixed once and never changed.

A baseline is inferred from reference data (the training or a trusted serving
window). It fixes, per feature:

- numeric: bin edges at reference quantiles; the outer bins are open-ended, so
  every live value has a bin. Bins follow Prometheus ``le`` semantics: bin ``i``
  holds ``edges[i-1] < v <= edges[i]``, and the last one ``v > edges[-1]``
  (label ``+Inf``), so the exporter can publish them as a histogram;
- categorical and boolean: a bounded vocabulary (top-K by frequency) plus an
  ``__other__`` bin for everything else, so label cardinality stays bounded;
- the reference counts per bin and the missing-value count (missing values are
  counted, never dropped);

and keeps a bounded reference sample for the exact sample-path tests and reports.

This module is the contract between the drift engine, the collector (schema
validation) and the prediction recorder (binning live values). The metric names
the recorder publishes, and the drift engine reads back with PromQL, live here
too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

FeatureKind = Literal["numeric", "categorical", "boolean"]
OTHER = "__other__"
_HOMOGENEOUS = frozenset({"string", "boolean", "integer", "floating", "categorical", "empty"})
"""Bin of categorical values outside the baseline's vocabulary."""

# Histogram path: metric names the recorder publishes per model and feature.
FEATURE_VALUE_METRIC = "inferwatch_feature_value"
"""Numeric features: a Prometheus histogram (``_bucket{le}``, ``_count``, ``_sum``) whose
buckets are the baseline's edges; labels ``model``, ``model_version``, ``feature``."""
FEATURE_CATEGORY_METRIC = "inferwatch_feature_category_total"
"""Categorical/boolean features: counter with label ``category`` (vocabulary or ``__other__``)."""
FEATURE_MISSING_METRIC = "inferwatch_feature_missing_total"
"""Missing values per feature (counter)."""
RECORDS_METRIC = "inferwatch_prediction_records_total"
"""Records counted by the recorder per model (counter)."""


class BaselineError(ValueError):
    """Reference data cannot make a baseline (empty, no usable columns, bad options)."""


@dataclass(frozen=True)
class FeatureSpec:
    """One feature's schema and reference distribution."""

    name: str
    kind: FeatureKind
    edges: tuple[float, ...] = ()
    vocabulary: tuple[str, ...] = ()
    reference_counts: tuple[int, ...] = ()
    missing_count: int = 0
    discrete: bool = False
    """Numeric with few distinct reference values: the edges are those values, so each
    common value has its own bin (rare ones share the next common value's bin)."""

    @property
    def bin_labels(self) -> tuple[str, ...]:
        """Numeric: each bin's upper edge (``le``) then ``+Inf``; else vocabulary then other."""
        if self.kind == "numeric":
            return (*(format_edge(e) for e in self.edges), "+Inf")
        return (*self.vocabulary, OTHER)

    @property
    def reference_rows(self) -> int:
        """Rows of reference data, missing ones included."""
        return sum(self.reference_counts) + self.missing_count

    @property
    def missing_rate(self) -> float:
        """Share of reference rows where this feature was missing."""
        rows = self.reference_rows
        return self.missing_count / rows if rows else 0.0

    def count(self, values: pd.Series | Sequence[Any]) -> tuple[np.ndarray, int]:
        """Counts per bin (``len(bin_labels)``) and the number of missing values."""
        series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
        if self.kind != "numeric":
            return self._count_categories(series)
        missing = series.isna().to_numpy()
        present = series[~missing]
        numbers = pd.to_numeric(present, errors="coerce").to_numpy(dtype=float)
        unparsable = np.isnan(numbers)
        counts = self.count_numbers(numbers[~unparsable])
        return counts, int(missing.sum()) + int(unparsable.sum())

    def _count_categories(self, series: pd.Series) -> tuple[np.ndarray, int]:
        lookup = {category: i for i, category in enumerate(self.vocabulary)}
        other = len(self.vocabulary)
        counts = np.zeros(other + 1, dtype=np.int64)
        if pd.api.types.infer_dtype(series, skipna=True) in _HOMOGENEOUS:
            # One pass of hashing counts the missing values too (see category_counts).
            missing = 0
            for value, n in series.value_counts(dropna=False, sort=False).items():
                if _is_missing(value):
                    missing += int(n)
                else:
                    counts[lookup.get(category_key(value), other)] += int(n)
            return counts, missing
        absent = series.isna().to_numpy()
        for key, n in category_counts(series[~absent]).items():
            counts[lookup.get(key, other)] += n
        return counts, int(absent.sum())

    def count_numbers(self, numbers: np.ndarray) -> np.ndarray:
        """Counts per bin of numbers that are not NaN (``-inf``/``+inf`` go to the outer bins)."""
        index = np.searchsorted(np.asarray(self.edges, dtype=float), numbers)
        return np.bincount(index, minlength=len(self.edges) + 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "kind": self.kind,
            "edges": list(self.edges),
            "vocabulary": list(self.vocabulary),
            "reference_counts": list(self.reference_counts),
            "missing_count": self.missing_count,
            "discrete": self.discrete,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Inverse of ``to_dict``."""
        return cls(
            name=str(data["name"]),
            kind=data["kind"],
            edges=tuple(float(e) for e in data.get("edges", ())),
            vocabulary=tuple(str(v) for v in data.get("vocabulary", ())),
            reference_counts=tuple(int(c) for c in data.get("reference_counts", ())),
            missing_count=int(data.get("missing_count", 0)),
            discrete=bool(data.get("discrete", False)),
        )


@dataclass(frozen=True)
class Baseline:
    """A model's immutable reference: feature specs plus a bounded reference sample."""

    model: str
    version: int
    features: tuple[FeatureSpec, ...]
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    sample: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)

    def feature(self, name: str) -> FeatureSpec:
        """The spec of feature ``name``; ``KeyError`` if the baseline has none."""
        for spec in self.features:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature names in reference column order."""
        return tuple(spec.name for spec in self.features)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form without the sample (stored separately, it can be large)."""
        return {
            "model": self.model,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "features": [spec.to_dict() for spec in self.features],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], sample: pd.DataFrame | None = None) -> Baseline:
        """Inverse of ``to_dict``."""
        return cls(
            model=str(data["model"]),
            version=int(data["version"]),
            created_at=datetime.fromisoformat(str(data["created_at"])),
            features=tuple(FeatureSpec.from_dict(f) for f in data["features"]),
            sample=sample if sample is not None else pd.DataFrame(),
        )


def category_key(value: Any) -> str:
    """How a categorical or boolean value is named in a vocabulary."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    return str(value)


def _is_missing(value: Any) -> bool:
    """What ``Series.isna`` calls missing, for one distinct value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def category_counts(present: pd.Series) -> dict[str, int]:
    """Rows per ``category_key`` of values that are not missing.

    One-type columns count distinct values first (hashing in C) and name each one once:
    the same counts as naming every row, at a fraction of the cost on large windows.
    Mixed columns name every row, since hashing would merge True, 1 and 1.0.
    """
    counts: dict[str, int] = {}
    if pd.api.types.infer_dtype(present, skipna=True) in _HOMOGENEOUS:
        for value, n in present.value_counts(sort=False).items():
            key = category_key(value)
            counts[key] = counts.get(key, 0) + int(n)
    else:
        for value in present:
            key = category_key(value)
            counts[key] = counts.get(key, 0) + 1
    return counts


def format_edge(edge: float) -> str:
    """An edge as Prometheus writes an ``le`` label (shortest round-trip form)."""
    if math.isinf(edge):
        return "+Inf" if edge > 0 else "-Inf"
    return repr(float(edge))


def infer_kind(series: pd.Series) -> FeatureKind:
    """Boolean dtype -> boolean, other numbers -> numeric, anything else -> categorical."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    present = series.dropna()
    if len(present) and pd.api.types.infer_dtype(present, skipna=True) == "boolean":
        return "boolean"
    return "categorical"


def numeric_edges(values: np.ndarray, bins: int) -> tuple[float, ...]:
    """Interior cut points at reference quantiles, de-duplicated for discrete data."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return ()
    quantiles = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])
    return tuple(float(q) for q in np.unique(quantiles))


DISCRETE_MAX_VALUES = 20
"""Distinct reference values up to which a numeric feature is discrete (binned by value)."""
DISCRETE_ROWS_PER_VALUE = 5
"""A discrete feature needs this many reference rows per distinct value on average: with
fewer, a continuous column of a small reference would look discrete."""
RARE_SHARE = 0.005
"""Values rarer than this in the reference share a bin with the next common value."""


def discrete_edges(values: np.ndarray, max_values: int) -> tuple[float, ...] | None:
    """The distinct values as edges when there are few of them, else ``None``.

    Bins follow ``le``: edge ``v`` closes the bin holding exactly ``v`` (values between
    two edges, unseen in the reference, join the upper one). Values rarer than
    ``RARE_SHARE`` are not edges, so they fall into the next common value's bin; the
    open last bin takes values above the largest one.
    """
    finite = values[np.isfinite(values)]
    distinct, counts = np.unique(finite, return_counts=True)
    if not 0 < distinct.size <= max_values or finite.size < DISCRETE_ROWS_PER_VALUE * distinct.size:
        return None
    common = distinct[counts >= RARE_SHARE * finite.size]
    return tuple(float(v) for v in common)


def infer_feature(
    name: str,
    series: pd.Series,
    *,
    bins: int,
    top_k: int,
    discrete_max_values: int = DISCRETE_MAX_VALUES,
) -> FeatureSpec:
    """One feature's spec from its reference column."""
    kind = infer_kind(series)
    missing = int(series.isna().sum())
    if kind == "numeric":
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
        present = values[~np.isnan(values)]
        by_value = discrete_edges(present, discrete_max_values)
        edges = numeric_edges(present, bins) if by_value is None else by_value
        spec = FeatureSpec(name=name, kind=kind, edges=edges, discrete=by_value is not None)
    else:
        ranked = category_counts(series.dropna())
        ties_broken = sorted(ranked.items(), key=lambda item: (-item[1], item[0]))
        vocabulary = tuple(str(k) for k, _ in ties_broken[:top_k])
        if kind == "boolean":
            vocabulary = ("false", "true")
        spec = FeatureSpec(name=name, kind=kind, vocabulary=vocabulary)
    counts, counted_missing = spec.count(series)
    return FeatureSpec(
        name=spec.name,
        kind=spec.kind,
        edges=spec.edges,
        vocabulary=spec.vocabulary,
        reference_counts=tuple(int(c) for c in counts),
        missing_count=max(missing, counted_missing),
        discrete=spec.discrete,
    )


def infer_baseline(
    model: str,
    reference: pd.DataFrame,
    *,
    version: int = 1,
    bins: int = 10,
    top_k: int = 20,
    sample_size: int = 5000,
    seed: int = 0,
    columns: Sequence[str] | None = None,
    discrete_max_values: int = DISCRETE_MAX_VALUES,
) -> Baseline:
    """Infer a baseline from reference data.

    Example:
        >>> frame = pd.DataFrame({"age": [20, 30, 40, None], "plan": ["a", "b", "a", "c"]})
        >>> b = infer_baseline("churn", frame, bins=2, top_k=2)
        >>> b.feature("age").edges, b.feature("plan").bin_labels
        ((30.0,), ('a', 'b', '__other__'))
    """
    if bins < 2:
        raise BaselineError(f"bins must be at least 2, got {bins}")
    if top_k < 1:
        raise BaselineError(f"top_k must be at least 1, got {top_k}")
    if reference.empty:
        raise BaselineError("reference data has no rows")
    names = list(columns) if columns is not None else [str(c) for c in reference.columns]
    absent = [n for n in names if n not in reference.columns]
    if absent:
        raise BaselineError(f"reference data has no column(s) {', '.join(absent)}")
    features = tuple(
        infer_feature(
            n, reference[n], bins=bins, top_k=top_k, discrete_max_values=discrete_max_values
        )
        for n in names
    )
    take = min(sample_size, len(reference))
    sample = reference[names].sample(n=take, random_state=np.random.default_rng(seed))
    return Baseline(
        model=model, version=version, features=features, sample=sample.reset_index(drop=True)
    )
