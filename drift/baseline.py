"""Baselines from reference data: the drift engine's side of the baseline contract.

The spec types (``FeatureSpec``, ``BaselineSpec``), the binning rule and the category
counting are the contract every part shares (``inferwatch.contracts``). This module
infers a baseline from reference data with pandas: bin edges at reference quantiles (or
the distinct values of a discrete feature), a top-K vocabulary per categorical feature,
the reference counts counted by the contract's own rule, and a bounded reference sample
for the exact sample-path tests and reports, which only the drift engine needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from inferwatch.contracts.binning import to_numbers
from inferwatch.contracts.categories import category_counts
from inferwatch.contracts.spec import (
    DEFAULT_BINS,
    DEFAULT_SAMPLE_SIZE,
    DEFAULT_TOP_K,
    BaselineSpec,
    FeatureKind,
    FeatureSpec,
    QualitySpec,
)


class BaselineError(ValueError):
    """Reference data cannot make a baseline (empty, no usable columns, bad options)."""


@dataclass(frozen=True)
class Baseline(BaselineSpec):
    """A model's immutable reference: the contract's spec plus a bounded reference sample."""

    sample: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], sample: pd.DataFrame | None = None) -> Baseline:
        """Inverse of ``to_dict``."""
        spec = BaselineSpec.from_dict(data)
        return cls(
            model=spec.model,
            version=spec.version,
            created_at=spec.created_at,
            features=spec.features,
            quality=spec.quality,
            sample=sample if sample is not None else pd.DataFrame(),
        )


def column_values(series: pd.Series, kind: FeatureKind) -> np.ndarray:
    """A column as the contract's counting reads it, converted in bulk where that is exact.

    Numeric: float64 with missing values as NaN (numeric columns by pandas, the others
    by ``to_numbers``, the contract's rule). Categorical and boolean: the values as
    numpy holds them, or as Python objects for pandas' own types (nullable, category,
    timestamps), so each is named as the recorder names it.
    """
    if kind == "numeric":
        if pd.api.types.is_numeric_dtype(series):
            numbers: np.ndarray = series.to_numpy(dtype=np.float64, na_value=np.nan)
            return numbers
        return to_numbers(series.to_numpy(dtype=object))
    native = isinstance(series.dtype, np.dtype) and series.dtype.kind in "biufUS"
    values: np.ndarray = series.to_numpy() if native else series.to_numpy(dtype=object)
    return values


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
    values = column_values(series, kind)
    if kind == "numeric":
        present = values[~np.isnan(values)]
        by_value = discrete_edges(present, discrete_max_values)
        edges = numeric_edges(present, bins) if by_value is None else by_value
        spec = FeatureSpec(name=name, kind=kind, edges=edges, discrete=by_value is not None)
    else:
        ranked, _ = category_counts(values)
        ties_broken = sorted(ranked.items(), key=lambda item: (-item[1], item[0]))
        vocabulary = tuple(str(k) for k, _ in ties_broken[:top_k])
        if kind == "boolean":
            vocabulary = ("false", "true")
        spec = FeatureSpec(name=name, kind=kind, vocabulary=vocabulary)
    counts, missing = spec.count(values)
    return FeatureSpec(
        name=spec.name,
        kind=spec.kind,
        edges=spec.edges,
        vocabulary=spec.vocabulary,
        reference_counts=tuple(int(c) for c in counts),
        missing_count=missing,
        discrete=spec.discrete,
    )


def infer_baseline(
    model: str,
    reference: pd.DataFrame,
    *,
    version: int = 1,
    bins: int = DEFAULT_BINS,
    top_k: int = DEFAULT_TOP_K,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    seed: int = 0,
    columns: Sequence[str] | None = None,
    discrete_max_values: int = DISCRETE_MAX_VALUES,
    quality: QualitySpec | None = None,
) -> Baseline:
    """Infer a baseline from reference data.

    With ``quality``, its columns (prediction, scores, actual, id) are the model's
    outcome, not features: they are kept in the reference sample (for the reference's
    performance and the calibration of estimates) and left out of the features.

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
    outcome = quality.columns if quality else ()
    names = list(columns) if columns is not None else [str(c) for c in reference.columns]
    names = [n for n in names if n not in outcome]
    absent = [n for n in (*names, *outcome) if n not in reference.columns]
    if quality and quality.prediction_id in absent:
        absent.remove(quality.prediction_id)  # ids name live predictions, not reference rows
    if absent:
        raise BaselineError(f"reference data has no column(s) {', '.join(absent)}")
    features = tuple(
        infer_feature(
            n, reference[n], bins=bins, top_k=top_k, discrete_max_values=discrete_max_values
        )
        for n in names
    )
    if quality and quality.kind == "regression" and not quality.residual_edges:
        from inferwatch.drift.quality import residual_edges_of

        residuals = column_values(reference[quality.prediction], "numeric") - column_values(
            reference[quality.target], "numeric"
        )
        residuals = residuals[~np.isnan(residuals)]
        if residuals.size < 2:
            raise BaselineError(f"column {quality.target!r}: fewer than 2 labelled rows")
        quality = replace(quality, residual_edges=residual_edges_of(residuals))
    take = min(sample_size, len(reference))
    kept = [*names, *(c for c in outcome if c in reference.columns)]
    sample = reference[kept].sample(n=take, random_state=np.random.default_rng(seed))
    return Baseline(
        model=model,
        version=version,
        features=features,
        quality=quality,
        sample=sample.reset_index(drop=True),
    )
