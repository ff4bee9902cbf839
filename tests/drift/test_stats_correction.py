"""Holm and Benjamini-Hochberg, against statsmodels' reference implementation."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from inferwatch.drift.correction import adjust


@pytest.mark.parametrize(("ours", "theirs"), [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjusted_p_values_match_statsmodels(ours: str, theirs: str) -> None:
    rng = np.random.default_rng(11)
    p = np.concatenate([rng.uniform(size=15), rng.uniform(0, 0.01, size=5), [0.5, 0.5]])
    expected = multipletests(p, method=theirs)[1]
    assert adjust(list(p), ours) == pytest.approx(tuple(expected))  # type: ignore[arg-type]


def test_hand_values() -> None:
    assert adjust([0.01, 0.04, 0.03], "holm") == pytest.approx((0.03, 0.06, 0.06))
    assert adjust([0.01, 0.04, 0.03], "bh") == pytest.approx((0.03, 0.04, 0.04))
    assert adjust([0.01, 0.04], "none") == (0.01, 0.04)
    assert adjust([], "holm") == ()


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust([1.5], "holm")
    with pytest.raises(ValueError, match="unknown correction"):
        adjust([0.5], "bonferroni")  # type: ignore[arg-type]
