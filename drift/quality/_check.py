"""``inferwatch quality check``'s work: two tables in, one report out.

The reference table gives the reference performance (and, for a binary classifier with
scores, the calibration of CBPE); the live table is judged as one window: realized
metrics when its labelled share reaches the policy's threshold, estimated ones before
(no target column, or mostly empty), and the multivariate tests on the feature columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from inferwatch.contracts.quality import (
    ClassifierSummary,
    RegressorSummary,
    summarise_classifier,
    summarise_regressor,
)
from inferwatch.drift.io import DataFileError
from inferwatch.drift.multivariate import (
    MultivariateInputError,
    MultivariatePolicy,
    MultivariateResult,
)
from inferwatch.drift.quality._assess import QualityMonitor, QualityResult
from inferwatch.drift.quality._estimate import ConfidenceEstimator
from inferwatch.drift.quality._files import labels, numbers, require
from inferwatch.drift.quality._policy import QualityPolicy
from inferwatch.drift.quality._reference import QualityInputError, ReferencePerformance

ModelKind = Literal["classification", "regression"]
BINARY_POSITIVES = ({"0", "1"}, "1"), ({"false", "true"}, "true"), ({"-1", "1"}, "1")
"""Label pairs whose positive class goes without saying."""


@dataclass(frozen=True)
class Columns:
    """Which columns hold what, from the verb's options."""

    kind: ModelKind
    target: str
    prediction: str | None = None
    scores: dict[str, str] = field(default_factory=dict)
    """Class label -> score column; the label ``""``: the one score of a binary model."""
    positive: str | None = None
    threshold: float = 0.5
    features: tuple[str, ...] = ()
    """Features for the multivariate tests (empty: every other shared column)."""

    @property
    def outputs(self) -> set[str]:
        """The columns that are model outputs or outcomes, not features."""
        return {self.target, *([self.prediction] if self.prediction else []), *self.scores.values()}


@dataclass
class _Model:
    """What the reference says about the model's outputs, reused on the live table."""

    columns: Columns
    classes: list[str] = field(default_factory=list)
    positive: str | None = None
    score_labels: dict[str, str] = field(default_factory=dict)
    """Class label -> score column, after resolving the binary score's label."""

    def predictions(self, frame: pd.DataFrame, where: str) -> np.ndarray:
        if self.columns.prediction is not None:
            predicted = labels(frame[self.columns.prediction])
            if any(p is None for p in predicted):
                raise DataFileError(
                    f"{where}: column {self.columns.prediction!r} has a missing value"
                )
            return predicted
        scores = self.scores(frame)
        if self.positive is not None:
            other = next(c for c in self.classes if c != self.positive)
            hit = scores[self.positive] >= self.columns.threshold
            return np.where(hit, self.positive, other).astype(object)
        order = list(scores)
        stacked = np.column_stack([scores[c] for c in order])
        chosen: np.ndarray = np.array(order, dtype=object)[stacked.argmax(axis=1)]
        return chosen

    def scores(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        out = {}
        for label, column in self.score_labels.items():
            values = numbers(frame[column], column)
            if np.isnan(values).any():
                raise DataFileError(f"column {column!r}: a score is missing")
            out[label] = values
        return out


def check(
    reference: pd.DataFrame,
    live: pd.DataFrame,
    columns: Columns,
    *,
    paths: tuple[Path, Path],
    policy: QualityPolicy,
    multivariate: MultivariatePolicy | None,
    model: str,
) -> dict[str, Any]:
    """The report of ``live`` against ``reference`` (``DataFileError`` for unusable input)."""
    require(reference, sorted(columns.outputs), paths[0])
    require(live, sorted(columns.outputs - {columns.target}), paths[1])
    try:
        if columns.kind == "classification":
            results = _classification(reference, live, columns, policy)
        else:
            results = _regression(reference, live, columns, policy)
        tests = _multivariate(reference, live, columns, multivariate)
    except (QualityInputError, MultivariateInputError) as exc:
        raise DataFileError(str(exc)) from exc
    return report(results, tests, model=model, kind=columns.kind, rows=(len(reference), len(live)))


def _classification(
    reference: pd.DataFrame, live: pd.DataFrame, columns: Columns, policy: QualityPolicy
) -> tuple[QualityResult, ...]:
    if columns.prediction is None and not columns.scores:
        raise DataFileError("a classifier needs --prediction or --score")
    spec = _Model(columns)
    ref_y = labels(reference[columns.target])
    known = np.array([y is not None for y in ref_y])
    if known.sum() < 2:
        raise DataFileError(f"{columns.target!r}: the reference needs labelled rows")
    seen = set(ref_y[known])
    if columns.prediction is not None:
        seen |= set(labels(reference[columns.prediction])) - {None}
    spec.classes = sorted(seen)
    spec.positive = _positive(columns, spec.classes)
    if "" in columns.scores:
        if spec.positive is None:
            raise DataFileError(
                f"one score column and labels {spec.classes}: --positive must say which "
                "class it scores"
            )
        spec.score_labels = {spec.positive: columns.scores[""]}
    else:
        spec.score_labels = dict(columns.scores)
        if len(spec.score_labels) == 1:
            spec.positive = spec.positive or next(iter(spec.score_labels))
    binary = spec.positive is not None and len(spec.score_labels) <= 1
    ref_scores = spec.scores(reference)
    ref_pred = spec.predictions(reference, str(columns.target))
    positive = spec.positive if binary else None
    performance = ReferencePerformance.classifier(
        ref_y, ref_pred, ref_scores, positive=positive, policy=policy
    )
    estimator = None
    if binary and ref_scores:
        assert positive is not None
        estimator = ConfidenceEstimator(
            ref_y[known] == positive, ref_scores[positive][known], policy
        )
    live_scores = spec.scores(live)
    live_pred = spec.predictions(live, "live")
    live_y = (
        labels(live[columns.target])
        if columns.target in live.columns
        else np.full(len(live), None, dtype=object)
    )
    summary: ClassifierSummary = summarise_classifier(
        live_y, live_pred, live_scores, positive=positive, score_edges=performance.edges
    )
    monitor = QualityMonitor(performance, estimator, policy)
    if estimator is None:
        return monitor.assess(summary)
    assert positive is not None
    return monitor.assess(
        summary, scores=live_scores[positive], predicted_positive=live_pred == positive
    )


def _positive(columns: Columns, classes: list[str]) -> str | None:
    if columns.positive is not None:
        if columns.positive not in classes:
            raise DataFileError(f"--positive {columns.positive!r} is none of the labels {classes}")
        return columns.positive
    if len(classes) == 2:
        for pair, positive in BINARY_POSITIVES:
            if set(classes) == pair:
                return positive
    return None


def _regression(
    reference: pd.DataFrame, live: pd.DataFrame, columns: Columns, policy: QualityPolicy
) -> tuple[QualityResult, ...]:
    if columns.prediction is None:
        raise DataFileError("a regressor needs --prediction")
    ref_y = numbers(reference[columns.target], columns.target)
    ref_p = numbers(reference[columns.prediction], columns.prediction)
    performance = ReferencePerformance.regressor(ref_y, ref_p, policy=policy)
    live_p = numbers(live[columns.prediction], columns.prediction)
    if np.isnan(live_p).any():
        raise DataFileError(f"column {columns.prediction!r}: a prediction is missing")
    live_y = (
        numbers(live[columns.target], columns.target)
        if columns.target in live.columns
        else np.full(live_p.size, np.nan)
    )
    summary: RegressorSummary = summarise_regressor(
        live_y, live_p, residual_edges=performance.edges
    )
    return QualityMonitor(performance, None, policy).assess(summary)


def _multivariate(
    reference: pd.DataFrame,
    live: pd.DataFrame,
    columns: Columns,
    policy: MultivariatePolicy | None,
) -> dict[str, MultivariateResult | str]:
    if policy is None:
        return {}
    from inferwatch.drift.multivariate import domain_classifier_test, pca_reconstruction_test

    if columns.features:
        require(reference, list(columns.features), Path("reference"))
        names = list(columns.features)
    else:
        names = [c for c in reference.columns if c in live.columns and c not in columns.outputs]
    if not names:
        return {"domain_classifier": "no feature column in both files"}
    ref, cur = reference[names], live[names]
    out: dict[str, MultivariateResult | str] = {
        "domain_classifier": domain_classifier_test(ref, cur, policy)
    }
    try:
        out["pca_reconstruction"] = pca_reconstruction_test(ref, cur, policy)
    except MultivariateInputError as exc:
        out["pca_reconstruction"] = f"not run: {exc}"
    return out


def report(
    results: tuple[QualityResult, ...],
    tests: dict[str, MultivariateResult | str],
    *,
    model: str,
    kind: ModelKind,
    rows: tuple[int, int],
) -> dict[str, Any]:
    """The verb's JSON object."""
    degraded = [r.metric for r in results if r.verdict == "degraded"]
    judged = [r for r in results if r.verdict != "not_enough_data"]
    drifted = [name for name, t in tests.items() if isinstance(t, MultivariateResult) and t.drifted]
    if degraded:
        verdict = "degraded"
    elif judged:
        verdict = "ok"
    else:
        verdict = "not_enough_data"
    metrics = {}
    for r in results:
        entry = r.to_dict()
        del entry["start"], entry["end"], entry["metric"]
        metrics[r.metric] = entry
    return {
        "model": model,
        "kind": kind,
        "reference_rows": rows[0],
        "rows": rows[1],
        "labelled_share": results[0].labelled_share if results else 0.0,
        "evaluated": results[0].kind if results else None,
        "verdict": verdict,
        "degraded": bool(degraded),
        "degraded_metrics": degraded,
        "metrics": metrics,
        "drift_detected": bool(drifted),
        "drifted_tests": drifted,
        "multivariate": {
            name: (t.to_dict() if isinstance(t, MultivariateResult) else {"detail": t})
            for name, t in tests.items()
        },
        "evaluated_at": datetime.now(UTC).isoformat(),
    }
