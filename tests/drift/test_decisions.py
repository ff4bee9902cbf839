"""Decisions that must hold at every size: discrete values, small windows, the effect floor."""

import math

import numpy as np
import pandas as pd
import pytest

from inferwatch.drift.baseline import infer_baseline
from inferwatch.drift.evaluate import evaluate_sample
from inferwatch.drift.policy import DriftPolicy
from inferwatch.drift.stats import get_method

NORMAL_DECILES = np.array([-1.2816, -0.8416, -0.5244, -0.2533, 0.0, 0.2533, 0.5244, 0.8416, 1.2816])


def _survey(rng: np.random.Generator, rows: int, low: float = 0.2) -> pd.DataFrame:
    """A rating where 1 and 2 are rare enough to share a decile bin, and a continuous x."""
    rating = rng.choice([1, 2, 3, 4, 5], rows, p=[low, 0.3 - low, 0.3, 0.25, 0.15])
    return pd.DataFrame({"rating": rating, "x": rng.normal(0, 1, rows)})


def test_discrete_numeric_is_binned_by_value_and_tested_on_values() -> None:
    rng = np.random.default_rng(21)
    baseline = infer_baseline("m", _survey(rng, 20_000))
    spec = baseline.feature("rating")
    assert spec.discrete
    assert spec.edges == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert not baseline.feature("x").discrete
    # 1 <-> 2 swap their shares: on de-duplicated deciles {1, 2} was one bin, invisible.
    shifted = _survey(rng, 1000, low=0.1)
    evaluation = evaluate_sample(baseline, shifted)
    rating = next(r for r in evaluation.features if r.feature == "rating")
    assert rating.method == "chi_squared"
    assert rating.drifted
    assert rating.effect is not None
    assert rating.effect_threshold is not None
    assert rating.effect >= rating.effect_threshold  # effect on the same support: values
    assert evaluation.drifted_features == ("rating",)


def test_rare_values_share_the_next_common_values_bin() -> None:
    rng = np.random.default_rng(22)
    values = rng.choice([0, 1, 2, 3], 10_000, p=[0.002, 0.5, 0.3, 0.198])
    spec = infer_baseline("m", pd.DataFrame({"v": values})).feature("v")
    assert spec.discrete
    assert spec.edges == (1.0, 2.0, 3.0)  # 0 is rarer than 0.5 %: counted with 1


def test_a_small_reference_is_not_mistaken_for_discrete_and_does_not_cry_wolf() -> None:
    """A 20-row reference: continuous columns stay continuous (exact KS), no false alarms."""
    rng = np.random.default_rng(23)
    alarms = 0
    for _ in range(40):
        frame = pd.DataFrame({f"c{i}": rng.normal(0, 1, 60) for i in range(20)})
        baseline = infer_baseline("m", frame.head(20))
        assert not any(spec.discrete for spec in baseline.features)
        alarms += evaluate_sample(baseline, frame.tail(40)).drift_detected
    assert alarms <= 2  # alpha 0.01 per window, Holm across 20 features


def test_reference_below_the_floor_is_not_enough_data() -> None:
    rng = np.random.default_rng(24)
    frame = pd.DataFrame({"x": rng.normal(0, 1, 200)})
    baseline = infer_baseline("m", frame.head(15))
    evaluation = evaluate_sample(baseline, frame.tail(100) + 5)
    assert evaluation.verdict == "not_enough_data"
    assert "min_reference_rows=20" in evaluation.features[0].detail


def test_sparse_categories_use_the_permutation_test() -> None:
    score = get_method("chi_squared").on_counts(np.array([900, 80, 15, 5]), np.array([18, 1, 1, 0]))
    assert "permutation p-value" in score.detail
    assert score.p_value is not None
    assert 0.3 < score.p_value <= 1.0
    again = get_method("chi_squared").on_counts(np.array([900, 80, 15, 5]), np.array([18, 1, 1, 0]))
    assert again.p_value == score.p_value  # seeded by the table
    shifted = get_method("chi_squared").on_counts(
        np.array([900, 80, 15, 5]), np.array([2, 3, 5, 10])
    )
    assert shifted.p_value == pytest.approx(1 / 10_000)


def test_permutation_test_keeps_its_level_on_small_windows() -> None:
    rng = np.random.default_rng(25)
    shares = [0.6, 0.25, 0.1, 0.05]
    reference = np.bincount(rng.choice(4, 500, p=shares), minlength=4)
    method = get_method("chi_squared")
    rejections = 0
    for _ in range(300):
        live = np.bincount(rng.choice(4, 20, p=shares), minlength=4)
        p_value = method.on_counts(reference, live).p_value
        assert p_value is not None
        rejections += p_value < 0.05
    assert rejections / 300 == pytest.approx(0.05, abs=0.035)


def _population_js(shift: float) -> float:
    cdf = np.array([0.5 * (1 + math.erf(e / math.sqrt(2))) for e in NORMAL_DECILES])
    moved = np.array([0.5 * (1 + math.erf((e - shift) / math.sqrt(2))) for e in NORMAL_DECILES])
    p = np.diff(np.concatenate(([0.0], cdf, [1.0])))
    q = np.diff(np.concatenate(([0.0], moved, [1.0])))
    return get_method("jensen_shannon").on_counts(p * 1e9, q * 1e9).statistic


@pytest.mark.parametrize("rows", [100, 1000, 10_000, 100_000])
def test_effect_estimate_means_the_same_at_every_window_size(rows: int) -> None:
    """The bias-corrected JS of a 0.3 sd shift is the population's (0.124) within 20 % at
    every n; the raw one is inflated by sampling noise at small n (0.18 at n = 100)."""
    rng = np.random.default_rng(rows)
    js = get_method("jensen_shannon")
    reference = np.bincount(
        np.searchsorted(NORMAL_DECILES, rng.normal(0, 1, 200_000)), minlength=10
    )
    divergences = []
    for _ in range(60):
        live = np.bincount(np.searchsorted(NORMAL_DECILES, rng.normal(0.3, 1, rows)), minlength=10)
        divergences.append(js.effect(reference, live) ** 2)
    assert math.sqrt(float(np.mean(divergences))) == pytest.approx(_population_js(0.3), rel=0.2)


def test_default_effect_floor_is_a_twentieth_of_an_sd() -> None:
    floor = DriftPolicy().effect_floor_for("x")
    assert _population_js(0.05) == pytest.approx(floor, rel=0.05)
    assert _population_js(0.1) > 1.9 * floor


def test_tiny_shift_on_a_huge_window_is_vetoed_a_real_one_is_not() -> None:
    rng = np.random.default_rng(26)
    baseline = infer_baseline("m", pd.DataFrame({"x": rng.normal(0, 1, 100_000)}))
    tiny = evaluate_sample(baseline, pd.DataFrame({"x": rng.normal(0.02, 1, 100_000)}))
    assert not tiny.drift_detected
    real = evaluate_sample(baseline, pd.DataFrame({"x": rng.normal(0.1, 1, 100_000)}))
    assert real.drifted_features == ("x",)
