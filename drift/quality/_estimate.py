"""Performance before labels: confidence-based performance estimation (CBPE).

A binary classifier's scores are calibrated on the reference (isotonic regression of the
actual class on the score), so that a live row's calibrated score is the probability
that its actual class is the positive one. Summed over a window, those probabilities
give the expected confusion matrix, and from it the expected accuracy, precision,
recall and F1; ROC AUC is the expected share of positive-negative pairs in order,
each pair weighted by the probability that it is one (a row is never paired with
itself). This holds as long as the relation between score and outcome (the calibration)
is the reference's: covariate shift is allowed, concept drift is not (NannyML's CBPE
rests on the same assumption).

The uncertainty band: labels drawn from the calibrated probabilities (``estimate_draws``
times, fixed seed) give the spread of the metric a window would show if calibration
held; the band is its central ``confidence`` interval. It does not include the
uncertainty of the calibration itself, which is small for references of thousands of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferwatch.drift.quality._policy import QualityPolicy
from inferwatch.drift.quality._reference import QualityInputError

ESTIMATED_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


@dataclass(frozen=True)
class Estimate:
    """One estimated metric and its uncertainty band."""

    value: float | None
    lower: float | None
    upper: float | None


class ConfidenceEstimator:
    """CBPE for a binary classifier, calibrated once on the reference."""

    def __init__(
        self, reference_positive: np.ndarray, reference_scores: np.ndarray, policy: QualityPolicy
    ) -> None:
        """``reference_positive``: whether each reference row's actual is the positive class."""
        from sklearn.isotonic import IsotonicRegression

        y = np.asarray(reference_positive, dtype=bool)
        s = np.asarray(reference_scores, dtype=np.float64)
        if y.size != s.size or y.size < 2:
            raise QualityInputError("reference: scores and actuals of at least 2 rows are needed")
        if y.all() or not y.any():
            raise QualityInputError("reference: both classes are needed to calibrate scores")
        if not np.isfinite(s).all():
            raise QualityInputError("reference: a score is missing or not finite")
        self.policy = policy
        self._calibration = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        self._calibration.fit(s, y.astype(np.float64))

    def calibrated(self, scores: np.ndarray) -> np.ndarray:
        """Probability that each row is positive, from its score."""
        return np.asarray(self._calibration.predict(np.asarray(scores, dtype=np.float64)))

    def estimate(self, scores: np.ndarray, predicted_positive: np.ndarray) -> dict[str, Estimate]:
        """Expected metrics of a window from its scores and predicted classes alone."""
        s = np.asarray(scores, dtype=np.float64)
        d = np.asarray(predicted_positive, dtype=bool)
        if s.size != d.size:
            raise QualityInputError(f"scores: {s.size} rows, predictions: {d.size} rows")
        if not np.isfinite(s).all():
            raise QualityInputError("scores: a score is missing or not finite")
        rng = np.random.default_rng(self.policy.seed)
        if s.size > self.policy.max_rows:
            keep = rng.choice(s.size, self.policy.max_rows, replace=False)
            s, d = s[keep], d[keep]
        if s.size == 0:
            return {m: Estimate(None, None, None) for m in ESTIMATED_METRICS}
        p = self.calibrated(s)
        values = _expected(p, d, s)
        draws = rng.random((self.policy.estimate_draws, s.size)) < p
        spread = _realized(draws, d, s)
        tail = (1 - self.policy.confidence) / 2 * 100
        out: dict[str, Estimate] = {}
        for name in ESTIMATED_METRICS:
            finite = spread[name][np.isfinite(spread[name])]
            value = values[name]
            if value is None or finite.size < 2:
                out[name] = Estimate(value, None, None)
                continue
            lower, upper = np.percentile(finite, [tail, 100 - tail])
            out[name] = Estimate(value, float(lower), float(upper))
        return out


def _expected(p: np.ndarray, d: np.ndarray, s: np.ndarray) -> dict[str, float | None]:
    tp, fp = float(p[d].sum()), float((1 - p[d]).sum())
    fn, tn = float(p[~d].sum()), float((1 - p[~d]).sum())
    n = p.size
    return {
        "accuracy": (tp + tn) / n,
        "precision": tp / (tp + fp) if tp + fp > 0 else 0.0,
        "recall": tp / (tp + fn) if tp + fn > 0 else 0.0,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else 0.0,
        "roc_auc": _expected_auc(p, s),
    }


def _expected_auc(p: np.ndarray, s: np.ndarray) -> float | None:
    """Expected positive-negative pairs in order (ties half) over expected pairs, i != j."""
    _, group = np.unique(s, return_inverse=True)
    pos = np.bincount(group, weights=p)
    neg = np.bincount(group, weights=1 - p)
    below = np.concatenate(([0.0], np.cumsum(neg)[:-1]))
    self_pairs = float((p * (1 - p)).sum())
    ordered = float((pos * below).sum() + 0.5 * ((pos * neg).sum() - self_pairs))
    pairs = float(pos.sum() * neg.sum()) - self_pairs
    return ordered / pairs if pairs > 0 else None


def _realized(y: np.ndarray, d: np.ndarray, s: np.ndarray) -> dict[str, np.ndarray]:
    """The metrics of each row of drawn labels ``y`` (draws x rows), vectorised."""
    yf = y.astype(np.float64)
    df = d.astype(np.float64)
    tp = yf @ df
    fp = df.sum() - tp
    positives = yf.sum(axis=1)
    fn = positives - tp
    n = y.shape[1]
    tn = n - tp - fp - fn
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(positives > 0, tp / positives, 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
        ranks = _average_ranks(s)
        negatives = n - positives
        auc = (yf @ ranks - positives * (positives + 1) / 2) / (positives * negatives)
    return {
        "accuracy": (tp + tn) / n,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": np.where((positives > 0) & (negatives > 0), auc, np.nan),
    }


def _average_ranks(s: np.ndarray) -> np.ndarray:
    """1-based ranks of ``s``, ties given their mean rank (as Mann-Whitney counts them)."""
    order = np.argsort(s, kind="mergesort")
    _, first, counts = np.unique(s[order], return_index=True, return_counts=True)
    mean_rank = first + (counts + 1) / 2
    ranks = np.empty(s.size, dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, counts)
    return ranks
