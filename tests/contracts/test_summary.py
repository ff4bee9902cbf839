"""Window summaries merge like summarising the concatenated traffic.

Counts exactly (hypothesis over numeric and categorical values, missing ones included);
the merged sample in distribution (fixed seeds, chi-squared p > 0.001: a merge that
drew evenly from two unequal sides fails it). The wire form round-trips and a received
summary that does not fit the baseline is refused, naming why.
"""

from __future__ import annotations

import gzip
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from inferwatch.contracts.spec import BaselineSpec, FeatureSpec
from inferwatch.contracts.summary import (
    BaselineMismatchError,
    SummaryError,
    check,
    from_wire,
    summarise,
)

BASELINE = BaselineSpec(
    model="m",
    version=3,
    features=(
        FeatureSpec("x", "numeric", edges=(-1.0, 0.0, 2.5)),
        FeatureSpec("c", "categorical", vocabulary=("a", "b")),
    ),
)

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.none(), st.sampled_from([-1.0, 0.0, 2.5])
)
categories = st.one_of(st.sampled_from(["a", "b", "z", "a"]), st.none(), st.booleans())
rows = st.lists(st.fixed_dictionaries({"x": numbers, "c": categories}), max_size=40)


def _summary(data: list[dict[str, Any]], seed: int, capacity: int = 8) -> Any:
    return summarise(
        BASELINE, data, start=0, end=10, capacity=capacity, rng=np.random.default_rng(seed)
    )


@settings(max_examples=200, deadline=None)
@given(first=rows, second=rows, seed=st.integers(0, 2**32))
def test_merging_counts_equals_counting_the_concatenation(
    first: list[dict[str, Any]], second: list[dict[str, Any]], seed: int
) -> None:
    merged = _summary(first, seed).merge(
        _summary(second, seed + 1), capacity=8, rng=np.random.default_rng(seed)
    )
    whole = _summary(first + second, seed)
    assert merged.rows == whole.rows == len(first) + len(second)
    for f in whole.features:
        got = merged.feature(f.name)
        assert got.counts == f.counts
        assert got.missing == f.missing
        assert got.count == f.count
    scale = sum(abs(r["x"]) for r in first + second if isinstance(r["x"], float))
    if np.isfinite(scale):  # float sums differ by rounding in another order only
        x = whole.feature("x").total
        assert abs(merged.feature("x").total - x) <= 1e-9 * (1 + scale)
    assert merged.sampled_from == whole.sampled_from
    assert len(merged.sample) == len(whole.sample) == min(8, whole.rows)
    check(merged, BASELINE, max_sample=8)
    assert from_wire(merged.to_wire(), max_decoded_bytes=1 << 20).to_dict() == merged.to_dict()


def test_merged_sample_is_uniform_over_all_rows() -> None:
    """30 rows on one pod, 90 on another, capacity 12: every row equally often."""
    first = [{"x": float(i), "c": "a"} for i in range(30)]
    second = [{"x": float(i), "c": "b"} for i in range(30, 120)]
    included: Counter[float] = Counter()
    repeats = 3000
    for r in range(repeats):
        merged = _summary(first, 2 * r, 12).merge(
            _summary(second, 2 * r + 1, 12), capacity=12, rng=np.random.default_rng(r)
        )
        assert len(merged.sample) == 12
        included.update(row["x"] for row in merged.sample)
    p = 12 / 120
    observed = np.array([included[float(i)] for i in range(120)])
    expected = repeats * p
    statistic = float(((observed - expected) ** 2 / (expected * (1 - p))).sum())
    assert stats.chi2.sf(statistic, df=119) > 0.001, statistic


def test_a_summary_of_another_version_or_other_bins_is_refused() -> None:
    summary = _summary([{"x": 1.0, "c": "a"}], 0)
    newer = BaselineSpec("m", 4, BASELINE.features)
    with pytest.raises(BaselineMismatchError, match=r"version 3.*current version is 4"):
        check(summary, newer, max_sample=8)
    other_bins = BaselineSpec(
        "m", 3, (FeatureSpec("x", "numeric", edges=(0.0,)), BASELINE.features[1])
    )
    with pytest.raises(SummaryError, match=r"'x' has 4 bins.*has 2"):
        check(summary, other_bins, max_sample=8)
    with pytest.raises(SummaryError, match="over the bound"):
        check(_summary([{"x": 1.0, "c": "a"}] * 5, 0), BASELINE, max_sample=2)


def test_wire_form_is_bounded_and_named_when_broken() -> None:
    wire = _summary([{"x": 1.0, "c": "a"}] * 50, 0).to_wire()
    with pytest.raises(SummaryError, match="inflates past"):
        from_wire(wire, max_decoded_bytes=100)
    with pytest.raises(SummaryError, match="not gzip"):
        from_wire(b"plain", max_decoded_bytes=100)
    with pytest.raises(SummaryError, match="nests too deep"):
        from_wire(gzip.compress(b"[" * 100_000), max_decoded_bytes=1 << 20)
    with pytest.raises(SummaryError, match="lacks field 'rows'"):
        from_wire(
            b'{"model":"m","baseline_version":1,"start":0,"end":1,"features":[]}',
            max_decoded_bytes=1000,
            compressed=False,
        )


def test_sample_numbers_travel_at_float32_and_the_sample_statistics_do_not_notice() -> None:
    """The wire keeps float32 precision (shortest decimals); KS and Wasserstein on the
    received sample equal those on the sent one (KS exactly, Wasserstein to 1e-7)."""
    from inferwatch.drift.stats import get_method

    rng = np.random.default_rng(7)
    reference = rng.normal(10.0, 3.0, 5000)
    live = rng.normal(10.3, 3.0, 800)
    summary = _summary([{"x": float(v), "c": "a"} for v in live], 0, capacity=800)
    text = gzip.decompress(summary.to_wire()).decode()
    sent = np.array([row["x"] for row in summary.sample])
    got = np.array(
        [row["x"] for row in from_wire(summary.to_wire(), max_decoded_bytes=1 << 22).sample]
    )
    # the same float32 as the sent value: nothing lost past float32 precision
    assert np.array_equal(got.astype(np.float32), sent.astype(np.float32))
    assert not np.array_equal(got, sent)  # and it was rounded
    assert max(len(str(v)) for v in got) <= 12  # shortest float32 decimals, not 17 digits
    assert str(got[0]) in text
    ks = get_method("ks")
    assert ks.on_samples(reference, got) == ks.on_samples(reference, sent)
    w_sent = get_method("wasserstein").on_samples(reference, sent).statistic
    w_got = get_method("wasserstein").on_samples(reference, got).statistic
    assert abs(w_got - w_sent) <= 1e-7 * max(1.0, abs(w_sent))
    huge = _summary([{"x": 1e300, "c": "a"}, {"x": 1e-310, "c": "a"}], 0)
    assert sorted(r["x"] for r in from_wire(huge.to_wire(), max_decoded_bytes=4096).sample) == [
        1e-310,
        1e300,
    ]  # outside float32's normal range: sent as they are
