"""The reference's performance and how far a window's may stray from it by chance alone.

A window of ``n`` labelled rows drawn from the reference's distribution has a metric that
varies around the reference's value; the band is the reference value ± z·sd, with sd the
spread of the metric over bootstrap resamples of ``n`` reference rows (fixed seed) and z
the normal quantile of the policy's confidence. So a small window gets a wide band and a
large one a narrow band, and the band is computed with the same binned summaries the
windows are judged with (``contracts.quality``), so both sides measure alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

from inferwatch.contracts.binning import to_numbers
from inferwatch.contracts.categories import category_key, is_missing
from inferwatch.contracts.quality import (
    DEFAULT_SCORE_EDGES,
    ClassifierSummary,
    RegressorSummary,
    ScoreCounts,
    Values,
    summarise_regressor,
)
from inferwatch.drift.quality._policy import BOUNDED, QualityPolicy

Summary = ClassifierSummary | RegressorSummary
Band = tuple[float, float]


class QualityInputError(ValueError):
    """Reference or window rows that cannot be judged (no labels, one class, bad scores)."""


class ReferencePerformance:
    """Metrics of the reference rows and their band at any window size (cached per size)."""

    def __init__(
        self, rows: int, summarise: Callable[[np.ndarray], Summary], policy: QualityPolicy
    ) -> None:
        if rows < 2:
            raise QualityInputError(f"reference: {rows} labelled rows; at least 2 are needed")
        self.rows = rows
        self.policy = policy
        self._summarise = summarise
        self.summary = summarise(np.arange(rows))
        self.values: dict[str, float | None] = self.summary.metrics()
        self._bands: dict[int, dict[str, Band | None]] = {}

    @classmethod
    def classifier(
        cls,
        actual: Values,
        predicted: Values,
        scores: Mapping[Any, Values] | None = None,
        *,
        positive: Any = None,
        score_edges: Sequence[float] = DEFAULT_SCORE_EDGES,
        policy: QualityPolicy | None = None,
    ) -> ReferencePerformance:
        """From a classifier's reference rows; rows without an actual are left out."""
        known = np.array([not is_missing(a) for a in actual], dtype=bool)
        y = [category_key(a) for a, k in zip(actual, known, strict=True) if k]
        p = [category_key(v) for v, k in zip(predicted, known, strict=True) if k]
        labels = tuple(sorted(set(y) | set(p)))
        code = {label: i for i, label in enumerate(labels)}
        y_code = np.array([code[v] for v in y], dtype=np.int64)
        pair = y_code * len(labels) + np.array([code[v] for v in p], dtype=np.int64)
        edges = tuple(float(e) for e in score_edges)
        positive_key = None if positive is None else category_key(positive)
        scored: list[tuple[str, np.ndarray, np.ndarray]] = []
        for label in sorted((scores or {}).keys(), key=category_key):
            values = to_numbers((scores or {})[label])[known]
            if np.isnan(values).any():
                raise QualityInputError(f"reference scores of {label!r}: a score is missing")
            bins = np.searchsorted(np.asarray(edges), values, side="left")
            key = category_key(label)
            scored.append((key, bins, y_code == code.get(key, -1)))
        width = len(edges) + 1
        zeros = (0,) * width

        def summarise(index: np.ndarray) -> ClassifierSummary:
            k = len(labels)
            matrix = np.bincount(pair[index], minlength=k * k).reshape(k, k)
            score_counts = []
            for key, bins, is_class in scored:
                b, c = bins[index], is_class[index]
                score_counts.append(
                    ScoreCounts(
                        key,
                        tuple(np.bincount(b[c], minlength=width).tolist()),
                        tuple(np.bincount(b[~c], minlength=width).tolist()),
                        zeros,
                    )
                )
            return ClassifierSummary(
                labels=labels,
                confusion=tuple(tuple(row) for row in matrix.tolist()),
                positive=positive_key,
                score_edges=edges,
                scores=tuple(score_counts),
            )

        return cls(int(known.sum()), summarise, policy or QualityPolicy())

    @classmethod
    def regressor(
        cls,
        actual: Values,
        predicted: Values,
        *,
        residual_edges: Sequence[float] | None = None,
        policy: QualityPolicy | None = None,
    ) -> ReferencePerformance:
        """From a regressor's reference rows; residual bins default to its residuals'
        deciles (``residual_edges_of``)."""
        y, p = to_numbers(actual), to_numbers(predicted)
        known = ~np.isnan(y) & ~np.isnan(p)
        y, p = y[known], p[known]
        edges = tuple(residual_edges) if residual_edges is not None else residual_edges_of(p - y)

        def summarise(index: np.ndarray) -> RegressorSummary:
            return summarise_regressor(y[index], p[index], residual_edges=edges)

        return cls(int(y.size), summarise, policy or QualityPolicy())

    @property
    def edges(self) -> tuple[float, ...]:
        """The score or residual bin edges windows must be summarised with."""
        if isinstance(self.summary, ClassifierSummary):
            return self.summary.score_edges
        return self.summary.residual_edges

    def band(self, n: int) -> dict[str, Band | None]:
        """Per metric, the band a window of ``n`` labelled rows stays in by chance
        (``None`` where the metric is undefined on the reference)."""
        n = max(int(n), 2)
        if n not in self._bands:
            self._bands[n] = self._bootstrap(n)
        return self._bands[n]

    def _bootstrap(self, n: int) -> dict[str, Band | None]:
        rng = np.random.default_rng(self.policy.seed)
        draws: dict[str, list[float]] = {m: [] for m in self.values}
        for _ in range(self.policy.bootstrap_resamples):
            metrics = self._summarise(rng.integers(0, self.rows, n)).metrics()
            for name, value in metrics.items():
                if value is not None and math.isfinite(value):
                    draws[name].append(value)
        z = NormalDist().inv_cdf(0.5 + self.policy.confidence / 2)
        out: dict[str, Band | None] = {}
        for name, centre in self.values.items():
            if centre is None or len(draws[name]) < 2:
                out[name] = None
                continue
            spread = z * float(np.std(draws[name], ddof=1))
            lower, upper = centre - spread, centre + spread
            if name in BOUNDED:
                lower, upper = max(lower, 0.0), min(upper, 1.0)
            out[name] = (lower, upper)
        return out


def residual_edges_of(residuals: np.ndarray, bins: int = 10) -> tuple[float, ...]:
    """Interior edges at the residuals' quantiles (distinct, finite)."""
    finite = residuals[np.isfinite(residuals)]
    if finite.size == 0:
        return (0.0,)
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1]))
    return tuple(float(e) for e in edges)
