"""Mergeable quality summaries: a model's realized performance as counts that add.

A window's outcomes (predictions joined with their actuals) are kept as counts, never as
rows, so that summaries of disjoint traffic (pods, collector replicas, late labels)
merge by addition and the metrics of the merge equal the metrics of all the rows:

- ``ClassifierSummary``: the confusion counts over string labels (binary and multiclass)
  and, per scored class, the labelled rows' scores counted over fixed score bins
  (positives and negatives apart), plus the unlabelled rows' scores. Accuracy,
  precision, recall and F1 (binary and macro) come from the confusion counts exactly as
  scikit-learn computes them (``zero_division=0``). ROC AUC comes from the score bins:
  rows in one bin count as tied, so it equals scikit-learn's ``roc_auc_score`` exactly
  when no bin holds two different scores (scores on the bin edges), and otherwise
  differs by at most ``auc_bound()`` (half the share of positive-negative pairs that
  share a bin), which the summary computes from its own counts.
- ``RegressorSummary``: count, sums of errors, squared and absolute errors, of the
  actuals and their squares (for R²), and the residuals counted over fixed bins.

Score and residual bins follow the contract's binning rule (``binning``: interior edges,
Prometheus ``le`` semantics). The default score bins are 100 equal-width bins on
``[0, 1]``; a baseline may store other edges (e.g. the reference scores' quantiles).

Labels are named by ``categories.category_key`` (``1`` is ``"1"``, ``True`` is
``"true"``), so ints and the floats ``1.0`` are different labels: keep one type.

Standard library and numpy only: this runs in model pods beside the recorder.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np

from inferwatch.contracts.binning import count_numbers, to_numbers
from inferwatch.contracts.categories import category_key, is_missing

DEFAULT_SCORE_BINS: Final = 100
DEFAULT_SCORE_EDGES: Final = tuple(float(x) for x in np.linspace(0.0, 1.0, 101)[1:-1])
"""Interior edges of 100 equal-width bins on ``[0, 1]`` (bin ``i`` is ``(e[i-1], e[i]]``)."""
MAX_LABELS: Final = 1000
"""Bound on the classes one summary may hold (a summary from the wire is refused past it)."""
MAX_BINS: Final = 10_000

Average = Literal["binary", "macro"]
Values = Sequence[Any] | np.ndarray
"""A column of values: a list, a tuple or a one-dimensional numpy array."""


class QualitySummaryError(ValueError):
    """A quality summary that cannot be built, read or merged; the message names the field."""


@dataclass(frozen=True)
class ScoreCounts:
    """One scored class: its score over the bins, for rows of that class and of the others."""

    label: str
    positive: tuple[int, ...]
    """Labelled rows whose actual is ``label``, per score bin."""
    negative: tuple[int, ...]
    """Labelled rows whose actual is another class, per score bin."""
    unlabelled: tuple[int, ...]
    """Rows without an actual (yet), per score bin: what performance estimation reads."""

    def merge(self, other: ScoreCounts) -> ScoreCounts:
        """Counts added bin by bin."""
        return ScoreCounts(
            self.label,
            _add(self.positive, other.positive),
            _add(self.negative, other.negative),
            _add(self.unlabelled, other.unlabelled),
        )

    def roc_auc(self) -> float | None:
        """ROC AUC of this class against the rest, rows in one bin tied; ``None`` if a
        side has no rows (scikit-learn refuses those)."""
        pos = np.asarray(self.positive, dtype=np.float64)
        neg = np.asarray(self.negative, dtype=np.float64)
        n_pos, n_neg = pos.sum(), neg.sum()
        if n_pos == 0 or n_neg == 0:
            return None
        below = np.concatenate(([0.0], np.cumsum(neg)[:-1]))
        return float(((pos * below).sum() + 0.5 * (pos * neg).sum()) / (n_pos * n_neg))

    def tied_share(self) -> float:
        """Share of positive-negative pairs that fall in one bin (0 when AUC is undefined)."""
        pos = np.asarray(self.positive, dtype=np.float64)
        neg = np.asarray(self.negative, dtype=np.float64)
        pairs = pos.sum() * neg.sum()
        return float((pos * neg).sum() / pairs) if pairs else 0.0


@dataclass(frozen=True)
class ClassifierSummary:
    """A classifier's outcomes in one window, as counts."""

    labels: tuple[str, ...]
    """Sorted labels seen among the labelled rows (actual or predicted)."""
    confusion: tuple[tuple[int, ...], ...]
    """``confusion[i][j]``: rows whose actual is ``labels[i]`` and prediction ``labels[j]``."""
    unlabelled: int = 0
    """Predictions whose actual is not known (yet)."""
    positive: str | None = None
    """The positive class of a binary model (binary precision, recall, F1)."""
    score_edges: tuple[float, ...] = DEFAULT_SCORE_EDGES
    scores: tuple[ScoreCounts, ...] = ()
    """Per scored class, sorted by label (binary models: the positive class only)."""

    def __post_init__(self) -> None:
        _check_classifier(self)

    # -- counts --------------------------------------------------------------------

    @property
    def labelled(self) -> int:
        """Rows with an actual."""
        return sum(sum(row) for row in self.confusion)

    @property
    def labelled_share(self) -> float:
        """Share of the window's predictions that have their actual (0 for no rows)."""
        rows = self.labelled + self.unlabelled
        return self.labelled / rows if rows else 0.0

    def merge(self, other: ClassifierSummary) -> ClassifierSummary:
        """The summary of both (disjoint) traffics; labels are the union of both."""
        if other.positive != self.positive:
            raise QualitySummaryError(
                f"positive: {self.positive!r} and {other.positive!r} differ, cannot merge"
            )
        if other.score_edges != self.score_edges:
            raise QualitySummaryError("score_edges differ, cannot merge")
        if [s.label for s in other.scores] != [s.label for s in self.scores]:
            raise QualitySummaryError("scores: the scored classes differ, cannot merge")
        labels = tuple(sorted(set(self.labels) | set(other.labels)))
        matrix = _embed(self, labels) + _embed(other, labels)
        return ClassifierSummary(
            labels=labels,
            confusion=_tuple2(matrix),
            unlabelled=self.unlabelled + other.unlabelled,
            positive=self.positive,
            score_edges=self.score_edges,
            scores=tuple(a.merge(b) for a, b in zip(self.scores, other.scores, strict=True)),
        )

    # -- metrics (scikit-learn's definitions, zero_division=0) ----------------------

    def _matrix(self) -> np.ndarray:
        return np.asarray(self.confusion, dtype=np.int64).reshape(len(self.labels), -1)

    def accuracy(self) -> float | None:
        """Share of labelled rows predicted right (``None`` with no labelled row)."""
        m = self._matrix()
        total = int(m.sum())
        return float(np.trace(m) / total) if total else None

    def _per_class(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        m = self._matrix().astype(np.float64)
        tp = np.diag(m)
        predicted, actual = m.sum(axis=0), m.sum(axis=1)
        precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
        recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
        both = precision + recall
        f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
        return precision, recall, f1, (predicted + actual) > 0

    def _averaged(self, which: int, average: Average) -> float | None:
        if self.labelled == 0:
            return None
        values = self._per_class()
        if average == "binary":
            if self.positive is None:
                raise QualitySummaryError("positive: a binary average needs the positive class")
            if self.positive not in self.labels:
                return 0.0
            return float(values[which][self.labels.index(self.positive)])
        present = values[3]
        return float(values[which][present].mean())

    def precision(self, average: Average = "binary") -> float | None:
        """Precision of the positive class, or the unweighted mean over classes."""
        return self._averaged(0, average)

    def recall(self, average: Average = "binary") -> float | None:
        """Recall of the positive class, or the unweighted mean over classes."""
        return self._averaged(1, average)

    def f1(self, average: Average = "binary") -> float | None:
        """F1 of the positive class, or the unweighted mean over classes."""
        return self._averaged(2, average)

    def roc_auc(self) -> float | None:
        """Binary: the positive class's AUC; multiclass: the mean one-vs-rest AUC over the
        scored classes (scikit-learn's ``multi_class="ovr", average="macro"``)."""
        aucs = [s.roc_auc() for s in self.scores]
        if not aucs or any(a is None for a in aucs):
            return None
        return float(np.mean([a for a in aucs if a is not None]))

    def auc_bound(self) -> float:
        """Largest difference between ``roc_auc()`` and the AUC of the exact scores."""
        return float(np.mean([0.5 * s.tied_share() for s in self.scores])) if self.scores else 0.0

    def metrics(self) -> dict[str, float | None]:
        """Every metric this summary can give: binary ones with a positive class, macro ones
        otherwise, ``roc_auc`` with scores."""
        average: Average = "binary" if self.positive is not None else "macro"
        out: dict[str, float | None] = {
            "accuracy": self.accuracy(),
            "precision": self.precision(average),
            "recall": self.recall(average),
            "f1": self.f1(average),
        }
        if self.scores:
            out["roc_auc"] = self.roc_auc()
        return out

    # -- wire form -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": "classifier",
            "labels": list(self.labels),
            "confusion": [list(row) for row in self.confusion],
            "unlabelled": self.unlabelled,
            "positive": self.positive,
            "score_edges": list(self.score_edges),
            "scores": [
                {
                    "label": s.label,
                    "positive": list(s.positive),
                    "negative": list(s.negative),
                    "unlabelled": list(s.unlabelled),
                }
                for s in self.scores
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> ClassifierSummary:
        """Inverse of ``to_dict``; a ``QualitySummaryError`` naming the first wrong field."""
        data = _object(data, "summary")
        _kind(data, "classifier")
        labels = tuple(_str(v, f"labels[{i}]") for i, v in enumerate(_list(data, "labels")))
        if len(labels) > MAX_LABELS:
            raise QualitySummaryError(f"labels: {len(labels)} is over the bound {MAX_LABELS}")
        confusion = tuple(
            tuple(_counts(row, f"confusion[{i}]")) for i, row in enumerate(_list(data, "confusion"))
        )
        positive = data.get("positive")
        if positive is not None:
            positive = _str(positive, "positive")
        edges = tuple(
            _number(v, f"score_edges[{i}]")
            for i, v in enumerate(_list(data, "score_edges", default=list(DEFAULT_SCORE_EDGES)))
        )
        scores = []
        for i, raw in enumerate(_list(data, "scores", default=[])):
            item = _object(raw, f"scores[{i}]")
            scores.append(
                ScoreCounts(
                    label=_str(item.get("label"), f"scores[{i}].label"),
                    positive=tuple(_counts(item.get("positive"), f"scores[{i}].positive")),
                    negative=tuple(_counts(item.get("negative"), f"scores[{i}].negative")),
                    unlabelled=tuple(_counts(item.get("unlabelled"), f"scores[{i}].unlabelled")),
                )
            )
        return cls(
            labels=labels,
            confusion=confusion,
            unlabelled=_count(data.get("unlabelled", 0), "unlabelled"),
            positive=positive,
            score_edges=edges,
            scores=tuple(scores),
        )


@dataclass(frozen=True)
class RegressorSummary:
    """A regressor's outcomes in one window: sums of its errors and a residual histogram.

    The error of a row is ``prediction - actual`` (positive: the model over-predicts).
    """

    count: int
    sum_error: float
    sum_squared_error: float
    sum_absolute_error: float
    sum_actual: float
    sum_squared_actual: float
    residual_edges: tuple[float, ...]
    residual_counts: tuple[int, ...]
    unlabelled: int = 0

    def __post_init__(self) -> None:
        _check_regressor(self)

    @property
    def labelled(self) -> int:
        """Rows with an actual."""
        return self.count

    @property
    def labelled_share(self) -> float:
        """Share of the window's predictions that have their actual (0 for no rows)."""
        rows = self.count + self.unlabelled
        return self.count / rows if rows else 0.0

    def merge(self, other: RegressorSummary) -> RegressorSummary:
        """Sums and counts added."""
        if other.residual_edges != self.residual_edges:
            raise QualitySummaryError("residual_edges differ, cannot merge")
        return RegressorSummary(
            count=self.count + other.count,
            sum_error=self.sum_error + other.sum_error,
            sum_squared_error=self.sum_squared_error + other.sum_squared_error,
            sum_absolute_error=self.sum_absolute_error + other.sum_absolute_error,
            sum_actual=self.sum_actual + other.sum_actual,
            sum_squared_actual=self.sum_squared_actual + other.sum_squared_actual,
            residual_edges=self.residual_edges,
            residual_counts=_add(self.residual_counts, other.residual_counts),
            unlabelled=self.unlabelled + other.unlabelled,
        )

    def metrics(self) -> dict[str, float | None]:
        """MAE, MSE, RMSE, mean error (bias) and R² (``None`` with no rows; R² also when
        the actuals do not vary, where scikit-learn's value is a convention)."""
        if self.count == 0:
            return {"mae": None, "mse": None, "rmse": None, "mean_error": None, "r2": None}
        n = self.count
        mse = self.sum_squared_error / n
        spread = self.sum_squared_actual - self.sum_actual**2 / n
        return {
            "mae": self.sum_absolute_error / n,
            "mse": mse,
            "rmse": math.sqrt(mse),
            "mean_error": self.sum_error / n,
            "r2": 1.0 - self.sum_squared_error / spread if spread > 0 else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": "regressor",
            "count": self.count,
            "unlabelled": self.unlabelled,
            "sum_error": self.sum_error,
            "sum_squared_error": self.sum_squared_error,
            "sum_absolute_error": self.sum_absolute_error,
            "sum_actual": self.sum_actual,
            "sum_squared_actual": self.sum_squared_actual,
            "residual_edges": list(self.residual_edges),
            "residual_counts": list(self.residual_counts),
        }

    @classmethod
    def from_dict(cls, data: Any) -> RegressorSummary:
        """Inverse of ``to_dict``; a ``QualitySummaryError`` naming the first wrong field."""
        data = _object(data, "summary")
        _kind(data, "regressor")
        sums = {
            name: _number(data.get(name), name)
            for name in (
                "sum_error",
                "sum_squared_error",
                "sum_absolute_error",
                "sum_actual",
                "sum_squared_actual",
            )
        }
        return cls(
            count=_count(data.get("count"), "count"),
            unlabelled=_count(data.get("unlabelled", 0), "unlabelled"),
            residual_edges=tuple(
                _number(v, f"residual_edges[{i}]")
                for i, v in enumerate(_list(data, "residual_edges"))
            ),
            residual_counts=tuple(_counts(data.get("residual_counts"), "residual_counts")),
            **sums,
        )


# -- building summaries from rows ------------------------------------------------------


def summarise_classifier(
    actual: Values,
    predicted: Values,
    scores: Mapping[Any, Values] | None = None,
    *,
    positive: Any = None,
    score_edges: Sequence[float] = DEFAULT_SCORE_EDGES,
) -> ClassifierSummary:
    """Count one window's rows. ``actual[i]`` missing (``None``/NaN) marks an unlabelled row.

    Args:
        actual: the true label per row, or missing when it is not known (yet).
        predicted: the predicted label per row (never missing).
        scores: per scored class (by label), the row's score for that class.
        positive: the positive class of a binary model (binary metrics; its score only).
        score_edges: interior edges of the score bins, increasing.
    """
    n = len(predicted)
    if len(actual) != n:
        raise QualitySummaryError(f"actual: {len(actual)} rows, predicted: {n} rows")
    edges = tuple(float(e) for e in score_edges)
    known = np.fromiter((not is_missing(a) for a in actual), dtype=bool, count=n)
    pred_keys = [_label(p, f"predicted[{i}]") for i, p in enumerate(predicted)]
    true_keys = [category_key(a) for a, k in zip(actual, known, strict=True) if k]
    pred_known = [p for p, k in zip(pred_keys, known, strict=True) if k]
    labels = tuple(sorted(set(true_keys) | set(pred_known)))
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    if true_keys:
        rows = np.fromiter((index[t] for t in true_keys), dtype=np.int64, count=len(true_keys))
        cols = np.fromiter((index[p] for p in pred_known), dtype=np.int64, count=len(pred_known))
        np.add.at(matrix, (rows, cols), 1)
    positive_key = None if positive is None else category_key(positive)
    scored: list[ScoreCounts] = []
    for label in sorted((scores or {}).keys(), key=category_key):
        values = to_numbers((scores or {})[label])
        key = category_key(label)
        if values.size != n:
            raise QualitySummaryError(f"scores[{key!r}]: {values.size} rows, predicted: {n}")
        if np.isnan(values).any():
            raise QualitySummaryError(f"scores[{key!r}]: a score is missing or not a number")
        is_class = np.zeros(n, dtype=bool)
        is_class[np.flatnonzero(known)] = [t == key for t in true_keys]
        scored.append(
            ScoreCounts(
                key,
                _bins(edges, values[is_class]),
                _bins(edges, values[known & ~is_class]),
                _bins(edges, values[~known]),
            )
        )
    return ClassifierSummary(
        labels=labels,
        confusion=_tuple2(matrix),
        unlabelled=int(n - known.sum()),
        positive=positive_key,
        score_edges=edges,
        scores=tuple(scored),
    )


def summarise_regressor(
    actual: Values, predicted: Values, *, residual_edges: Sequence[float]
) -> RegressorSummary:
    """Count one window's rows; a missing actual marks an unlabelled row."""
    y = to_numbers(actual)
    p = to_numbers(predicted)
    if y.size != p.size:
        raise QualitySummaryError(f"actual: {y.size} rows, predicted: {p.size} rows")
    if np.isnan(p).any():
        raise QualitySummaryError("predicted: a prediction is missing or not a number")
    known = ~np.isnan(y)
    y, p = y[known], p[known]
    error = p - y
    edges = tuple(float(e) for e in residual_edges)
    return RegressorSummary(
        count=int(y.size),
        sum_error=float(error.sum()),
        sum_squared_error=float((error**2).sum()),
        sum_absolute_error=float(np.abs(error).sum()),
        sum_actual=float(y.sum()),
        sum_squared_actual=float((y**2).sum()),
        residual_edges=edges,
        residual_counts=_bins(edges, error),
        unlabelled=int((~known).sum()),
    )


# -- helpers ------------------------------------------------------------------------------


def _label(value: Any, where: str) -> str:
    if is_missing(value):
        raise QualitySummaryError(f"{where}: a prediction is missing")
    return category_key(value)


def _bins(edges: tuple[float, ...], values: np.ndarray) -> tuple[int, ...]:
    return tuple(int(c) for c in count_numbers(edges, values).tolist())


def _add(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _tuple2(matrix: np.ndarray) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(v) for v in row) for row in matrix.tolist())


def _embed(summary: ClassifierSummary, labels: tuple[str, ...]) -> np.ndarray:
    """The summary's confusion counts placed in a matrix over ``labels`` (a superset)."""
    at = np.array([labels.index(label) for label in summary.labels], dtype=np.int64)
    out = np.zeros((len(labels), len(labels)), dtype=np.int64)
    if at.size:
        out[np.ix_(at, at)] = summary._matrix()
    return out


def _check_edges(edges: tuple[float, ...], field: str) -> None:
    if len(edges) > MAX_BINS:
        raise QualitySummaryError(f"{field}: {len(edges)} edges is over the bound {MAX_BINS}")
    if any(not math.isfinite(e) for e in edges):
        raise QualitySummaryError(f"{field}: edges must be finite")
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise QualitySummaryError(f"{field}: edges must increase strictly")


def _check_classifier(s: ClassifierSummary) -> None:
    if list(s.labels) != sorted(set(s.labels)):
        raise QualitySummaryError("labels: must be sorted and distinct")
    k = len(s.labels)
    if len(s.confusion) != k or any(len(row) != k for row in s.confusion):
        raise QualitySummaryError(f"confusion: must be {k} x {k} (one row and column per label)")
    if any(v < 0 for row in s.confusion for v in row) or s.unlabelled < 0:
        raise QualitySummaryError("confusion: counts must not be negative")
    _check_edges(s.score_edges, "score_edges")
    bins = len(s.score_edges) + 1
    labelled = s.labelled
    if [x.label for x in s.scores] != sorted({x.label for x in s.scores}):
        raise QualitySummaryError("scores: classes must be sorted and distinct")
    if s.positive is not None and s.scores and [x.label for x in s.scores] != [s.positive]:
        raise QualitySummaryError("scores: a binary summary scores its positive class only")
    for x in s.scores:
        where = f"scores[{x.label!r}]"
        for name in ("positive", "negative", "unlabelled"):
            counts = getattr(x, name)
            if len(counts) != bins:
                raise QualitySummaryError(f"{where}.{name}: {len(counts)} bins, edges give {bins}")
            if any(c < 0 for c in counts):
                raise QualitySummaryError(f"{where}.{name}: counts must not be negative")
        if sum(x.positive) + sum(x.negative) != labelled:
            raise QualitySummaryError(
                f"{where}: {sum(x.positive) + sum(x.negative)} labelled scores, "
                f"confusion holds {labelled}"
            )
        if sum(x.unlabelled) != s.unlabelled:
            raise QualitySummaryError(
                f"{where}.unlabelled: {sum(x.unlabelled)} scores, unlabelled is {s.unlabelled}"
            )


def _check_regressor(s: RegressorSummary) -> None:
    if s.count < 0 or s.unlabelled < 0:
        raise QualitySummaryError("count: must not be negative")
    _check_edges(s.residual_edges, "residual_edges")
    if len(s.residual_counts) != len(s.residual_edges) + 1:
        raise QualitySummaryError(
            f"residual_counts: {len(s.residual_counts)} bins, "
            f"edges give {len(s.residual_edges) + 1}"
        )
    if sum(s.residual_counts) != s.count or any(c < 0 for c in s.residual_counts):
        raise QualitySummaryError(f"residual_counts: must be non-negative and add up to {s.count}")
    for name in ("sum_squared_error", "sum_absolute_error", "sum_squared_actual"):
        if getattr(s, name) < 0:
            raise QualitySummaryError(f"{name}: must not be negative")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise QualitySummaryError(f"{where}: must be a JSON object")
    return value


def _kind(data: dict[str, Any], kind: str) -> None:
    if data.get("kind", kind) != kind:
        raise QualitySummaryError(f"kind: {data.get('kind')!r:.40} is not {kind!r}")


def _list(data: dict[str, Any], key: str, default: list[Any] | None = None) -> list[Any]:
    value = data.get(key, default)
    if not isinstance(value, list):
        raise QualitySummaryError(f"{key}: must be a list")
    return value


def _counts(value: Any, where: str) -> list[int]:
    if not isinstance(value, list):
        raise QualitySummaryError(f"{where}: must be a list of counts")
    if len(value) > MAX_BINS + 1:
        raise QualitySummaryError(f"{where}: {len(value)} counts is over the bound")
    return [_count(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QualitySummaryError(f"{where}: must be a non-negative integer, got {value!r:.40}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise QualitySummaryError(f"{where}: must be a finite number, got {value!r:.40}")
    return float(value)


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise QualitySummaryError(f"{where}: must be a string, got {value!r:.40}")
    return value
