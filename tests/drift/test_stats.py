"""The statistics, pinned to hand-computed values and scipy's reference implementations."""

import math

import numpy as np
import pytest
from scipy import stats

from inferwatch.contracts.spec import FeatureSpec
from inferwatch.drift.stats import (
    DriftMethod,
    Score,
    UnknownMethodError,
    get_method,
    ks_statistic,
    method_names,
    register,
)

REF = np.array([50, 50])
LIVE = np.array([30, 70])


def test_psi_matches_the_formula() -> None:
    expected = (0.3 - 0.5) * math.log(0.3 / 0.5) + (0.7 - 0.5) * math.log(0.7 / 0.5)
    assert get_method("psi").on_counts(REF, LIVE).statistic == pytest.approx(expected)
    assert expected == pytest.approx(0.16946, abs=1e-5)


def test_psi_floors_empty_bins_instead_of_dividing_by_zero() -> None:
    score = get_method("psi").on_counts(np.array([10, 0]), np.array([5, 5]))
    assert math.isfinite(score.statistic)
    assert score.statistic > 1


def test_jensen_shannon_is_the_base_2_distance() -> None:
    p, q = np.array([0.5, 0.5]), np.array([0.3, 0.7])
    m = (p + q) / 2
    divergence = 0.5 * np.sum(p * np.log2(p / m)) + 0.5 * np.sum(q * np.log2(q / m))
    score = get_method("jensen_shannon").on_counts(REF, LIVE)
    assert score.statistic == pytest.approx(math.sqrt(divergence))
    assert get_method("jensen_shannon").on_counts(np.array([1, 0]), np.array([0, 1])).statistic == (
        pytest.approx(1.0)
    )


def test_hellinger_matches_the_formula() -> None:
    expected = math.sqrt(1 - (math.sqrt(0.5 * 0.3) + math.sqrt(0.5 * 0.7)))
    assert get_method("hellinger").on_counts(REF, LIVE).statistic == pytest.approx(expected)


def test_chi_squared_matches_scipy_and_drops_empty_bins_from_dof() -> None:
    ref, live = np.array([10, 0, 20, 30]), np.array([15, 0, 25, 20])
    score = get_method("chi_squared").on_counts(ref, live)
    table = np.array([[10, 20, 30], [15, 25, 20]])
    expected = stats.chi2_contingency(table, correction=False)
    assert score.statistic == pytest.approx(expected.statistic)
    assert score.p_value == pytest.approx(expected.pvalue)
    assert expected.dof == 2
    assert score.detail == "dof=2"


def test_chi_squared_hand_value() -> None:
    # 50/50 vs 30/70: expected 40/60 in each row, every cell 10 away from it.
    expected = 2 * (10**2 / 40 + 10**2 / 60)
    score = get_method("chi_squared").on_counts(REF, LIVE)
    assert score.statistic == pytest.approx(expected)
    assert score.p_value == pytest.approx(stats.chi2.sf(expected, 1))


def test_chi_squared_on_a_single_bin_cannot_reject() -> None:
    score = get_method("chi_squared").on_counts(np.array([5, 0]), np.array([7, 0]))
    assert (score.statistic, score.p_value) == (0.0, 1.0)


def test_ks_on_samples_is_scipys_exact_test() -> None:
    ref, live = np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6, 7])
    score = get_method("ks").on_samples(ref, live)
    assert score.statistic == pytest.approx(0.6)  # at x = 4: F_ref = 1, F_live = 2/5
    assert score.p_value == pytest.approx(stats.ks_2samp(ref, live, method="exact").pvalue)
    assert "exact" in score.detail


def test_ks_on_bins_says_bin_resolved_and_understates_the_gap() -> None:
    rng = np.random.default_rng(3)
    ref, live = rng.normal(0, 1, 4000), rng.normal(0.3, 1, 3000)
    edges = tuple(np.quantile(ref, np.linspace(0, 1, 11)[1:-1]))
    spec = FeatureSpec(name="x", kind="numeric", edges=edges)
    binned = get_method("ks").on_counts(spec.count_numbers(ref), spec.count_numbers(live), spec)
    exact = get_method("ks").on_samples(ref, live)
    assert "bin-resolved" in binned.detail
    assert binned.statistic <= exact.statistic + 1e-12
    assert binned.statistic == pytest.approx(exact.statistic, abs=0.05)
    assert binned.p_value is not None
    assert binned.p_value < 1e-10


def test_wasserstein_on_samples_is_normalised_by_the_reference_iqr() -> None:
    ref = np.arange(101, dtype=float)  # IQR 50
    score = get_method("wasserstein").on_samples(ref, ref + 10)
    assert score.statistic == pytest.approx(10 / 50)
    assert "IQR" in score.detail


def test_wasserstein_falls_back_to_std_for_a_zero_iqr() -> None:
    ref = np.array([0.0] * 90 + [10.0] * 10)
    score = get_method("wasserstein").on_samples(ref, ref + 1)
    assert score.statistic == pytest.approx(1 / np.std(ref))
    assert "std" in score.detail


def test_wasserstein_on_bins_approximates_the_sample_value() -> None:
    rng = np.random.default_rng(5)
    ref, live = rng.normal(0, 1, 20000), rng.normal(0.5, 1, 20000)
    edges = tuple(np.quantile(ref, np.linspace(0, 1, 21)[1:-1]))
    spec = FeatureSpec(name="x", kind="numeric", edges=edges)
    binned = get_method("wasserstein").on_counts(
        spec.count_numbers(ref), spec.count_numbers(live), spec
    )
    exact = get_method("wasserstein").on_samples(ref, live)
    assert exact.statistic == pytest.approx(0.5 / 1.349, rel=0.05)
    assert binned.statistic == pytest.approx(exact.statistic, rel=0.2)
    assert "bin-resolved" in binned.detail


def test_missing_rate_is_the_pooled_two_proportion_z_test() -> None:
    score = get_method("missing_rate").on_counts(np.array([90, 10]), np.array([80, 20]))
    pooled = 30 / 200
    z = 0.1 / math.sqrt(pooled * (1 - pooled) * (2 / 100))
    assert score.statistic == pytest.approx(0.1)
    assert score.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert score.p_value == pytest.approx(0.0477, abs=1e-3)


def test_missing_rate_all_missing_on_both_sides_cannot_reject() -> None:
    score = get_method("missing_rate").on_counts(np.array([0, 10]), np.array([0, 5]))
    assert score.p_value == 1.0


@pytest.mark.parametrize("name", ["psi", "jensen_shannon", "hellinger", "chi_squared", "ks"])
def test_identical_histograms_score_no_drift(name: str) -> None:
    counts = np.array([5, 10, 20, 10, 5])
    spec = FeatureSpec(name="x", kind="numeric", edges=(1.0, 2.0, 3.0, 4.0))
    score = get_method(name).on_counts(counts, counts * 3, spec)
    assert score.statistic == pytest.approx(0.0, abs=1e-12)
    assert score.p_value in (None, pytest.approx(1.0))


@pytest.mark.parametrize(
    ("reference", "live"),
    [
        pytest.param([1, 2], [1, 2, 3], id="shape"),
        pytest.param([1, -2], [1, 2], id="negative"),
    ],
)
def test_bad_counts_are_refused(reference: list[int], live: list[int]) -> None:
    with pytest.raises(ValueError, match="bin counts"):
        get_method("psi").on_counts(np.array(reference), np.array(live))


def test_registry_lists_methods_by_kind_and_names_them_in_errors() -> None:
    assert set(method_names()) == {
        "psi",
        "jensen_shannon",
        "hellinger",
        "chi_squared",
        "ks",
        "wasserstein",
        "missing_rate",
    }
    assert "ks" not in method_names("categorical")
    assert method_names("numeric", tests_only=True) == ("chi_squared", "ks", "missing_rate")
    with pytest.raises(UnknownMethodError, match="known: chi_squared"):
        get_method("t_test")


def test_a_name_registers_once() -> None:
    class Duplicate(DriftMethod):
        name = "psi"

        def on_counts(
            self, reference: np.ndarray, live: np.ndarray, spec: FeatureSpec | None = None
        ) -> Score:
            return Score(0.0)

    with pytest.raises(ValueError, match="already registered"):
        register(Duplicate)


def test_distances_have_no_sample_form() -> None:
    with pytest.raises(NotImplementedError):
        get_method("psi").on_samples(np.array([1.0]), np.array([2.0]))


def test_fast_ks_statistic_equals_scipys_with_ties_and_infinities() -> None:
    rng = np.random.default_rng(21)
    for trial in range(60):
        m, n = int(rng.integers(1, 40)), int(rng.integers(1, 60))
        if trial % 2:
            ref, live = rng.integers(0, 6, m).astype(float), rng.integers(0, 7, n).astype(float)
        else:
            ref, live = rng.normal(size=m), rng.normal(0.3, size=n)
        if trial % 5 == 0:
            live = np.concatenate([live, [np.inf, -np.inf]])
        assert ks_statistic(ref, live) == pytest.approx(stats.ks_2samp(ref, live).statistic)


def test_sample_ks_on_a_large_window_is_asymptotic_and_agrees_with_scipy() -> None:
    rng = np.random.default_rng(22)
    ref, live = rng.normal(size=5000), rng.normal(0.05, 1, 50_000)
    score = get_method("ks").on_samples(ref, live)
    expected = stats.ks_2samp(ref, live, method="asymp")
    assert "asymptotic" in score.detail
    assert score.statistic == pytest.approx(expected.statistic)
    assert score.p_value == pytest.approx(expected.pvalue, rel=0.1)
