"""Multivariate drift: a correlation flip with unchanged marginals is caught by the domain
classifier and by PCA reconstruction, and not by univariate KS; unchanged data does not
alarm (several seeds); the row cap bounds what an evaluation reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from inferwatch.drift.multivariate import (
    MultivariateInputError,
    MultivariatePolicy,
    PCAReconstruction,
    domain_classifier_test,
    pca_reconstruction_test,
)

POLICY = MultivariatePolicy(max_rows=1500, max_iter=40, folds=4)
"""Small enough for the shared test machine; the defaults are measured in bench/quality.py."""


def _table(seed: int, n: int, rho: float) -> pd.DataFrame:
    """a and b correlated by ``rho``; every column N(0, 1) (or uniform categories) alone."""
    rng = np.random.default_rng(seed)
    ab = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
    return pd.DataFrame(
        {
            "a": ab[:, 0],
            "b": ab[:, 1],
            "c": rng.normal(size=n),
            "d": rng.normal(size=n),
            "plan": rng.choice(["free", "pro", "team"], n),
        }
    )


REFERENCE = _table(0, 4000, 0.8)


@pytest.mark.parametrize("seed", [1, 2])
def test_correlation_flip_is_caught_by_both_and_missed_by_ks(seed: int) -> None:
    live = _table(seed, 1000, -0.8)
    ks = {c: ks_2samp(REFERENCE[c], live[c]).pvalue for c in "abcd"}
    assert min(ks.values()) > 0.01, ks  # univariate: nothing to see

    domain = domain_classifier_test(REFERENCE, live, POLICY)
    assert domain.drifted and domain.verdict == "drift"
    assert domain.statistic is not None and domain.statistic > 0.75
    assert domain.p_value is not None and domain.p_value < 1e-6
    assert set(list(domain.contributions)[:2]) == {"a", "b"}

    pca = pca_reconstruction_test(REFERENCE, live, POLICY)
    assert pca.drifted
    assert pca.upper is not None and pca.statistic is not None and pca.statistic > pca.upper
    assert set(list(pca.contributions)[:2]) == {"a", "b"}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_no_false_alarm_on_unchanged_data(seed: int) -> None:
    live = _table(seed, 1000, 0.8)
    domain = domain_classifier_test(REFERENCE, live, POLICY)
    assert not domain.drifted, domain
    assert domain.verdict == "no_drift"
    pca = pca_reconstruction_test(REFERENCE, live, POLICY)
    assert not pca.drifted, pca
    assert pca.lower is not None and pca.upper is not None
    assert pca.lower <= pca.statistic <= pca.upper  # type: ignore[operator]


def test_domain_classifier_sees_a_categorical_shift() -> None:
    rng = np.random.default_rng(5)
    live = _table(5, 1000, 0.8)
    live["plan"] = rng.choice(["free", "pro", "team"], len(live), p=[0.6, 0.2, 0.2])
    result = domain_classifier_test(REFERENCE, live, POLICY)
    assert result.drifted
    assert next(iter(result.contributions)) == "plan"


def test_rows_are_capped() -> None:
    result = domain_classifier_test(REFERENCE, _table(3, 3000, 0.8), POLICY)
    assert (result.reference_rows, result.live_rows) == (1500, 1500)
    assert PCAReconstruction(REFERENCE, POLICY).reference_rows == 1500


def test_too_few_rows_is_not_enough_data() -> None:
    live = _table(1, 20, -0.8)
    for result in (
        domain_classifier_test(REFERENCE, live, POLICY),
        pca_reconstruction_test(REFERENCE, live, POLICY),
    ):
        assert result.verdict == "not_enough_data"
        assert not result.drifted
        assert result.to_dict()["statistic"] is None


def test_inputs_that_cannot_be_compared_say_why() -> None:
    with pytest.raises(MultivariateInputError, match="no column in common"):
        domain_classifier_test(REFERENCE, pd.DataFrame({"zzz": [1.0] * 100}), POLICY)
    with pytest.raises(MultivariateInputError, match="2 numeric columns"):
        PCAReconstruction(REFERENCE[["a", "plan"]], POLICY)
    with pytest.raises(MultivariateInputError, match=r"\['d'\]"):
        PCAReconstruction(REFERENCE, POLICY).test(REFERENCE.drop(columns="d"))
