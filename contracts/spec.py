"""The baseline spec: what the recorder, the collector and the drift engine agree a model's
features look like.

A baseline fixes, per feature:

- numeric: interior bin edges (reference quantiles, or the distinct values of a discrete
  feature); the outer bins are open-ended, so every live value has a bin (``binning``);
- categorical and boolean: a bounded vocabulary (top-K by frequency) plus an
  ``__other__`` bin for everything else (``categories``);
- the reference counts per bin and the missing-value count.

How a baseline is inferred from reference data is the drift engine's business
(``inferwatch.drift.baseline``, on pandas); this module only holds the result, which
every part can read without pandas.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from inferwatch.contracts.binning import bin_numbers, count_numbers, format_edge
from inferwatch.contracts.categories import OTHER, count_categories
from inferwatch.contracts.defaults import DEFAULT_BINS, DEFAULT_SAMPLE_SIZE, DEFAULT_TOP_K

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_SAMPLE_SIZE",
    "DEFAULT_TOP_K",
    "BaselineSpec",
    "FeatureKind",
    "FeatureSpec",
    "QualitySpec",
]

FeatureKind = Literal["numeric", "categorical", "boolean"]


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

    def count(self, values: Iterable[Any]) -> tuple[np.ndarray, int]:
        """Counts per bin (``len(bin_labels)``) and the number of missing values.

        Example:
            >>> spec = FeatureSpec("age", "numeric", edges=(30.0, 40.0))
            >>> counts, missing = spec.count([30, 30.5, float("inf"), None, "x"])
            >>> counts.tolist(), missing, spec.bin_labels
            ([1, 1, 1], 2, ('30.0', '40.0', '+Inf'))
        """
        if self.kind == "numeric":
            counts, missing, _ = bin_numbers(self.edges, values)
            return counts, missing
        return count_categories(self.vocabulary, values)

    def count_numbers(self, numbers: np.ndarray) -> np.ndarray:
        """Counts per bin of numbers that are not NaN (``-inf``/``+inf`` go to the outer bins)."""
        return count_numbers(self.edges, numbers)

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


ModelKind = Literal["classification", "regression"]


@dataclass(frozen=True)
class QualitySpec:
    """Which columns of a model's records are its outcome: prediction, scores, actual.

    Set when the baseline was created from reference data with actuals. Live records may
    carry these columns next to the features (the collector counts them, ``outcomes``);
    actuals that arrive later name the prediction by ``prediction_id``.
    """

    kind: ModelKind
    prediction: str
    target: str
    scores: tuple[tuple[str, str], ...] = ()
    """(class label, column of its score); a binary model: the positive class's only."""
    positive: str | None = None
    prediction_id: str | None = None
    score_edges: tuple[float, ...] = ()
    """Interior score-bin edges (classification; empty: the contract's default)."""
    residual_edges: tuple[float, ...] = ()
    """Interior residual-bin edges (regression)."""

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the spec names, in a fixed order."""
        named = [self.prediction, self.target, *(column for _, column in self.scores)]
        if self.prediction_id:
            named.append(self.prediction_id)
        return tuple(named)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "prediction": self.prediction,
            "target": self.target,
            "scores": [{"label": label, "column": column} for label, column in self.scores],
            "positive": self.positive,
            "prediction_id": self.prediction_id,
            "score_edges": list(self.score_edges),
            "residual_edges": list(self.residual_edges),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualitySpec:
        """Inverse of ``to_dict``."""
        kind = str(data["kind"])
        if kind not in ("classification", "regression"):
            raise ValueError(f"quality.kind {kind!r} is not classification or regression")
        return cls(
            kind=kind,  # type: ignore[arg-type]
            prediction=str(data["prediction"]),
            target=str(data["target"]),
            scores=tuple((str(s["label"]), str(s["column"])) for s in data.get("scores", [])),
            positive=None if data.get("positive") is None else str(data["positive"]),
            prediction_id=None if data.get("prediction_id") is None else str(data["prediction_id"]),
            score_edges=tuple(float(e) for e in data.get("score_edges", [])),
            residual_edges=tuple(float(e) for e in data.get("residual_edges", [])),
        )


@dataclass(frozen=True)
class BaselineSpec:
    """A model's immutable reference, without its reference sample (the drift engine's
    ``Baseline`` adds that): what the recorder bins against and the collector validates by."""

    model: str
    version: int
    features: tuple[FeatureSpec, ...]
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    quality: QualitySpec | None = None
    """The outcome columns, when the reference had actuals (model quality)."""

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
        """JSON-ready form (the sample, if any, is stored apart: it can be large)."""
        return {
            "model": self.model,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "features": [spec.to_dict() for spec in self.features],
            **({"quality": self.quality.to_dict()} if self.quality else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BaselineSpec:
        """Inverse of ``to_dict``."""
        return cls(
            model=str(data["model"]),
            version=int(data["version"]),
            created_at=datetime.fromisoformat(str(data["created_at"])),
            features=tuple(FeatureSpec.from_dict(f) for f in data["features"]),
            quality=QualitySpec.from_dict(data["quality"]) if data.get("quality") else None,
        )
