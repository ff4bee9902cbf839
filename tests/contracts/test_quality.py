"""Quality summaries: metrics from counts equal scikit-learn's on the same rows, merges are
associative and commutative and equal the summary of all rows, bad input names its field."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from inferwatch.contracts.quality import (
    DEFAULT_SCORE_EDGES,
    ClassifierSummary,
    QualitySummaryError,
    RegressorSummary,
    summarise_classifier,
    summarise_regressor,
)

RESIDUAL_EDGES = (-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0)


def _binary_rows(seed: int, n: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.clip(0.35 * y + 0.65 * rng.random(n), 0.0, 1.0)
    return y, (score > 0.5).astype(int), score


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_metrics_equal_sklearn(seed: int) -> None:
    y, pred, score = _binary_rows(seed)
    s = summarise_classifier(list(y), list(pred), {1: score}, positive=1)
    assert s.accuracy() == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert s.precision() == pytest.approx(skm.precision_score(y, pred), abs=1e-12)
    assert s.recall() == pytest.approx(skm.recall_score(y, pred), abs=1e-12)
    assert s.f1() == pytest.approx(skm.f1_score(y, pred), abs=1e-12)
    assert s.f1("macro") == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_from_bins_is_within_its_stated_bound(seed: int) -> None:
    y, pred, score = _binary_rows(seed)
    s = summarise_classifier(list(y), list(pred), {1: score}, positive=1)
    exact = skm.roc_auc_score(y, score)
    assert s.auc_bound() > 0  # continuous scores share bins: the bound is not vacuous
    auc = s.roc_auc()
    assert auc is not None
    assert abs(auc - exact) <= s.auc_bound()
    assert abs(auc - exact) > 1e-9  # and the binned value is indeed an approximation


def test_auc_is_exact_when_scores_fall_on_bin_edges() -> None:
    rng = np.random.default_rng(7)
    grid = np.array([*DEFAULT_SCORE_EDGES, 1.0])
    y = rng.integers(0, 2, 3000)
    score = grid[np.clip((y * 30 + rng.integers(0, 70, y.size)), 0, grid.size - 1)]
    s = summarise_classifier(list(y), list((score > 0.5).astype(int)), {1: score}, positive=1)
    assert s.roc_auc() == pytest.approx(skm.roc_auc_score(y, score), abs=1e-12)


def test_multiclass_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(3)
    n, classes = 3000, ["ant", "bee", "cat"]
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3)) + 1.2 * np.eye(3)[y]
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    prob = np.round(prob, 2)  # on the bin edges: AUC must then be exact
    prob[:, 2] = 1 - prob[:, 0] - prob[:, 1]
    prob = np.clip(np.round(prob, 2), 0, 1)
    pred = prob.argmax(axis=1)
    names_y = [classes[i] for i in y]
    names_p = [classes[i] for i in pred]
    s = summarise_classifier(names_y, names_p, {c: prob[:, i] for i, c in enumerate(classes)})
    assert s.labels == tuple(classes)
    assert s.accuracy() == pytest.approx(skm.accuracy_score(names_y, names_p), abs=1e-12)
    for metric, ours in (
        (skm.precision_score, s.precision("macro")),
        (skm.recall_score, s.recall("macro")),
        (skm.f1_score, s.f1("macro")),
    ):
        assert ours == pytest.approx(metric(names_y, names_p, average="macro"), abs=1e-12)
    ovr = np.mean([skm.roc_auc_score(y == i, prob[:, i]) for i in range(3)])
    assert s.roc_auc() == pytest.approx(ovr, abs=1e-12)


def test_macro_average_ignores_labels_only_in_unlabelled_rows() -> None:
    s = summarise_classifier(["a", "b", None, "a"], ["a", "a", "zebra", "b"])
    assert s.labels == ("a", "b")
    assert s.unlabelled == 1
    assert s.labelled_share == pytest.approx(0.75)
    expected = skm.f1_score(["a", "b", "a"], ["a", "a", "b"], average="macro")
    assert s.f1("macro") == pytest.approx(expected)


def test_zero_division_is_zero_like_sklearn() -> None:
    y, pred = [0, 0, 0, 1], [0, 0, 0, 0]
    s = summarise_classifier(y, pred, positive=1)
    assert s.precision() == skm.precision_score(y, pred, zero_division=0) == 0.0
    assert s.roc_auc() is None  # no scores


def test_regressor_metrics_equal_sklearn() -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(10, 3, 5000)
    p = y + rng.normal(0.2, 0.8, y.size)
    s = summarise_regressor(list(y), list(p), residual_edges=RESIDUAL_EDGES)
    got = s.metrics()
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-12)
    assert got["mse"] == pytest.approx(skm.mean_squared_error(y, p), rel=1e-12)
    assert got["r2"] == pytest.approx(skm.r2_score(y, p), rel=1e-9)
    assert got["mean_error"] == pytest.approx(float(np.mean(p - y)), rel=1e-12)
    assert sum(s.residual_counts) == y.size


# -- merging -------------------------------------------------------------------------------

LABELS = ["a", "b", "c"]
row = st.tuples(
    st.one_of(st.none(), st.sampled_from(LABELS)),
    st.sampled_from(LABELS),
    st.sampled_from([*DEFAULT_SCORE_EDGES[::7], 0.0, 1.0, 0.333]),
)
rows_strategy = st.lists(row, max_size=30)


def _classifier(rows: list[tuple[Any, str, float]]) -> ClassifierSummary:
    return summarise_classifier(
        [r[0] for r in rows], [r[1] for r in rows], {"a": [r[2] for r in rows]}
    )


@settings(max_examples=60, deadline=None)
@given(rows_strategy, rows_strategy, rows_strategy)
def test_classifier_merge_is_associative_commutative_and_equals_all_rows(
    x: list[Any], y: list[Any], z: list[Any]
) -> None:
    a, b, c = _classifier(x), _classifier(y), _classifier(z)
    assert a.merge(b) == b.merge(a)
    assert a.merge(b).merge(c) == a.merge(b.merge(c))
    assert a.merge(b).merge(c) == _classifier(x + y + z)


reg_row = st.tuples(
    st.one_of(st.none(), st.integers(-50, 50)), st.integers(-50, 50)
)  # integers: sums are exact, so equality is exact


def _regressor(rows: list[tuple[Any, int]]) -> RegressorSummary:
    return summarise_regressor(
        [r[0] for r in rows], [r[1] for r in rows], residual_edges=RESIDUAL_EDGES
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(reg_row, max_size=30), st.lists(reg_row, max_size=30), st.lists(reg_row, max_size=30)
)
def test_regressor_merge_is_associative_commutative_and_equals_all_rows(
    x: list[Any], y: list[Any], z: list[Any]
) -> None:
    a, b, c = _regressor(x), _regressor(y), _regressor(z)
    assert a.merge(b) == b.merge(a)
    assert a.merge(b).merge(c) == a.merge(b.merge(c))
    assert a.merge(b).merge(c) == _regressor(x + y + z)


def test_merge_refuses_different_bins_or_positive_class() -> None:
    a = summarise_classifier([1], [1], {1: [0.7]}, positive=1)
    b = summarise_classifier([1], [1], {1: [0.7]}, positive=1, score_edges=(0.5,))
    with pytest.raises(QualitySummaryError, match="score_edges"):
        a.merge(b)
    with pytest.raises(QualitySummaryError, match="positive"):
        a.merge(summarise_classifier([1], [1], {0: [0.7]}, positive=0))


# -- wire form -----------------------------------------------------------------------------


def test_round_trip_through_json() -> None:
    y, pred, score = _binary_rows(5, 300)
    s = summarise_classifier([*y, None], [*pred, 1], {1: [*score, 0.9]}, positive=1)
    assert ClassifierSummary.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    r = summarise_regressor([1.0, None, 3.0], [1.5, 2, 2.0], residual_edges=RESIDUAL_EDGES)
    assert RegressorSummary.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def _good() -> dict[str, Any]:
    return summarise_classifier([1, 0, None], [1, 1, 0], {1: [0.9, 0.6, 0.2]}, positive=1).to_dict()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(lambda d: d.update(labels="ab"), "labels", id="labels-not-list"),
        pytest.param(lambda d: d.update(labels=["1", "0"]), "labels", id="labels-unsorted"),
        pytest.param(lambda d: d["confusion"][0].append(1), "confusion", id="confusion-shape"),
        pytest.param(
            lambda d: d["confusion"][0].__setitem__(0, -1),
            r"confusion\[0\]\[0\]",
            id="confusion-negative",
        ),
        pytest.param(lambda d: d.update(unlabelled="3"), "unlabelled", id="unlabelled-type"),
        pytest.param(
            lambda d: d["scores"][0]["positive"].pop(), r"scores\['1'\].positive", id="score-bins"
        ),
        pytest.param(
            lambda d: d["scores"][0]["negative"].__setitem__(3, 5),
            r"scores\['1'\]",
            id="score-total",
        ),
        pytest.param(lambda d: d.update(score_edges=[0.5, 0.2]), "score_edges", id="edges"),
        pytest.param(lambda d: d.update(kind="regressor"), "kind", id="kind"),
        pytest.param(lambda d: d.update(positive=1), "positive", id="positive-type"),
    ],
)
def test_from_dict_names_the_wrong_field(change: Any, field: str) -> None:
    data = _good()
    change(data)
    with pytest.raises(QualitySummaryError, match=field):
        ClassifierSummary.from_dict(data)


def test_regressor_from_dict_names_the_wrong_field() -> None:
    data = summarise_regressor([1.0], [2.0], residual_edges=RESIDUAL_EDGES).to_dict()
    data["sum_absolute_error"] = float("nan")
    with pytest.raises(QualitySummaryError, match="sum_absolute_error"):
        RegressorSummary.from_dict(data)
    data = summarise_regressor([1.0], [2.0], residual_edges=RESIDUAL_EDGES).to_dict()
    data["residual_counts"] = [1, 0]
    with pytest.raises(QualitySummaryError, match="residual_counts"):
        RegressorSummary.from_dict(data)


def test_quality_summary_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="summary"):
        ClassifierSummary.from_dict([])
