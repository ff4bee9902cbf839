"""Reference bands, verdicts, CBPE calibration and estimates, realized replacing estimated."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn import metrics as skm

from inferwatch.contracts.quality import summarise_classifier, summarise_regressor
from inferwatch.drift.quality import (
    ConfidenceEstimator,
    QualityMonitor,
    QualityPolicy,
    ReferencePerformance,
)


def _population(
    rng: np.random.Generator, n: int, shift: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """One feature x; P(y=1|x) = sigmoid(2x) fixed (no concept drift); ``shift`` moves x.

    The model's score is miscalibrated on purpose (sigmoid(2x) ** 2), so CBPE must
    calibrate before it can estimate.
    """
    x = rng.normal(shift, 1.0, n)
    p = 1 / (1 + np.exp(-2 * x))
    y = (rng.random(n) < p).astype(int)
    return y, p**2


def _reference(seed: int = 0, n: int = 6000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, score = _population(np.random.default_rng(seed), n)
    return y, score, (score >= 0.5).astype(int)


def _monitor(policy: QualityPolicy | None = None) -> QualityMonitor:
    y, score, pred = _reference()
    policy = policy or QualityPolicy()
    reference = ReferencePerformance.classifier(y, pred, {1: score}, positive=1, policy=policy)
    return QualityMonitor(reference, ConfidenceEstimator(y == 1, score, policy), policy)


def _window(y: np.ndarray, score: np.ndarray, labelled: float = 1.0, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    actual: list[object] = [int(v) if rng.random() < labelled else None for v in y]
    pred = (score >= 0.5).astype(int)
    return summarise_classifier(actual, list(pred), {1: score}, positive=1), pred


def test_reference_values_equal_sklearn_on_the_same_rows() -> None:
    y, score, pred = _reference()
    reference = ReferencePerformance.classifier(y, pred, {1: score}, positive=1)
    assert reference.values["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert reference.values["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert reference.values["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score), abs=5e-3)


def test_band_narrows_as_windows_grow() -> None:
    y, score, pred = _reference()
    reference = ReferencePerformance.classifier(y, pred, {1: score}, positive=1)
    small, large = reference.band(100)["accuracy"], reference.band(3000)["accuracy"]
    assert small is not None and large is not None
    assert small[1] - small[0] > 3 * (large[1] - large[0])
    assert small[0] < reference.values["accuracy"] < small[1]  # type: ignore[operator]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_false_alarm_on_windows_from_the_reference_population(seed: int) -> None:
    monitor = _monitor()
    y, score = _population(np.random.default_rng(seed), 1000)
    summary, _ = _window(y, score)
    results = monitor.assess(summary)
    assert {r.kind for r in results} == {"realized"}
    assert [r.metric for r in results if r.verdict != "ok"] == []


def test_degraded_when_the_concept_changes() -> None:
    monitor = _monitor()
    rng = np.random.default_rng(11)
    y, score = _population(rng, 1000)
    flip = rng.random(y.size) < 0.25  # a quarter of the outcomes no longer follow the score
    y = np.where(flip, 1 - y, y)
    summary, _ = _window(y, score)
    verdicts = {r.metric: r for r in monitor.assess(summary)}
    assert verdicts["accuracy"].verdict == "degraded"
    assert verdicts["roc_auc"].verdict == "degraded"
    assert verdicts["accuracy"].value < verdicts["accuracy"].lower  # type: ignore[operator]


def test_floor_of_the_policy_makes_a_healthy_window_degraded() -> None:
    monitor = _monitor(QualityPolicy(floors={"accuracy": 0.99}))
    y, score = _population(np.random.default_rng(1), 1000)
    summary, _ = _window(y, score)
    accuracy = next(r for r in monitor.assess(summary) if r.metric == "accuracy")
    assert accuracy.verdict == "degraded"
    assert accuracy.limit == 0.99
    assert "floor" in accuracy.detail


def test_policy_refuses_unknown_metrics_by_name() -> None:
    with pytest.raises(ValidationError, match="acuracy"):
        QualityPolicy(floors={"acuracy": 0.9})
    with pytest.raises(ValidationError, match="accuracy"):
        QualityPolicy(ceilings={"accuracy": 0.9})  # not an error metric


def test_calibration_undoes_a_miscalibrated_score() -> None:
    y, score, _ = _reference(n=20_000)
    estimator = ConfidenceEstimator(y == 1, score, QualityPolicy())
    grid = np.linspace(0.05, 0.9, 18)
    truth = np.sqrt(grid)  # score = p ** 2
    assert np.max(np.abs(estimator.calibrated(grid) - truth)) < 0.06
    assert np.max(np.abs(grid - truth)) > 0.2  # the raw score was far off


@pytest.mark.parametrize("shift", [-1.0, 0.0, 0.8])
def test_estimates_follow_realized_metrics_under_covariate_shift(shift: float) -> None:
    """Shifting x changes accuracy and AUC; CBPE sees it from scores alone."""
    y, score, _ = _reference()
    estimator = ConfidenceEstimator(y == 1, score, QualityPolicy())
    live_y, live_score = _population(np.random.default_rng(21), 3000, shift)
    pred = live_score >= 0.5
    estimates = estimator.estimate(live_score, pred)
    realized = {
        "accuracy": skm.accuracy_score(live_y, pred),
        "roc_auc": skm.roc_auc_score(live_y, live_score),
        "f1": skm.f1_score(live_y, pred),
    }
    for metric, value in realized.items():
        estimate = estimates[metric]
        assert estimate.lower is not None and estimate.upper is not None
        assert estimate.value == pytest.approx(value, abs=0.03), metric
        assert estimate.lower - 0.01 <= value <= estimate.upper + 0.01, metric


def test_realized_replaces_estimated_as_late_labels_arrive() -> None:
    """The same window judged twice: first with 10% of its labels, then with 90%."""
    monitor = _monitor()
    y, score = _population(np.random.default_rng(5), 1500, shift=0.5)
    early, pred = _window(y, score, labelled=0.1, seed=1)
    late, _ = _window(y, score, labelled=0.9, seed=1)
    first = monitor.assess(early, scores=score, predicted_positive=pred == 1, start=0, end=60)
    second = monitor.assess(late, scores=score, predicted_positive=pred == 1, start=0, end=60)
    assert {r.kind for r in first} == {"estimated"}
    assert {r.kind for r in second} == {"realized"}
    accuracy = next(r for r in first if r.metric == "accuracy")
    assert accuracy.labelled_share == pytest.approx(0.1, abs=0.03)
    assert accuracy.estimate_lower is not None
    assert accuracy.estimate_lower <= accuracy.value <= accuracy.estimate_upper  # type: ignore[operator]
    assert accuracy.to_dict()["kind"] == "estimated"
    assert accuracy.to_dict()["start"] == 0


def test_too_few_labels_and_no_scores_is_not_enough_data() -> None:
    monitor = _monitor()
    y, score = _population(np.random.default_rng(5), 200)
    summary, _ = _window(y, score, labelled=0.05)
    results = monitor.assess(summary)  # no scores given: nothing to estimate from
    assert {r.verdict for r in results} == {"not_enough_data"}


def test_regressor_degrades_when_errors_grow() -> None:
    rng = np.random.default_rng(9)
    y = rng.normal(0, 2, 4000)
    p = y + rng.normal(0, 0.5, y.size)
    reference = ReferencePerformance.regressor(y, p)
    monitor = QualityMonitor(reference)
    ly = rng.normal(0, 2, 800)
    same = summarise_regressor(ly, ly + rng.normal(0, 0.5, ly.size), residual_edges=reference.edges)
    worse = summarise_regressor(
        ly, ly + rng.normal(0, 0.8, ly.size), residual_edges=reference.edges
    )
    assert {r.metric: r.verdict for r in monitor.assess(same)}["mae"] == "ok"
    verdicts = {r.metric: r.verdict for r in monitor.assess(worse)}
    assert verdicts["mae"] == verdicts["rmse"] == "degraded"
    assert verdicts["mean_error"] == "ok"  # wider errors, no bias
