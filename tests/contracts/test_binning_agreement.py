"""The recorder counts live values exactly as the baseline counted its reference.

For any values (NaN, ``±inf``, values on the edges, numbers as strings, huge integers,
booleans, unseen categories, ``0.0`` next to ``-0.0``, ``True`` next to ``1``) the
recorder's per-record path, its batch path (lists and DataFrames) and the drift
engine's counting of a pandas column all give the counts a plain reading of the rule
gives, value by value. The histogram path rests on this: the drift engine compares
the recorder's counts with the baseline's reference counts bin by bin.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inferwatch.contracts.binning import count_numbers, count_sorted
from inferwatch.contracts.spec import BaselineSpec, FeatureSpec
from inferwatch.drift.baseline import column_values
from inferwatch.exporters.recorder import PredictionRecorder

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

edges_strategy = st.lists(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), max_size=6, unique=True
).map(lambda edges: tuple(sorted(edges)))


def numeric_values(edges: tuple[float, ...]) -> st.SearchStrategy[list[Any]]:
    """Anything a model server might hand the recorder for a numeric feature."""
    value = st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(edges) if edges else st.just(0.0),  # exactly on an edge
        st.sampled_from([math.inf, -math.inf, math.nan, -0.0]),
        st.integers(-(10**6), 10**6),
        st.integers(min_value=10**309, max_value=10**310),  # too large for a float
        st.booleans(),
        st.none(),
        st.floats(-1e6, 1e6, allow_nan=False).map(repr),  # a number as a string
        st.sampled_from(["", "abc", "nan", "inf", "-inf", " 7 ", "1_000"]),
        st.floats(width=32, allow_nan=True).map(np.float32),
        st.integers(-(10**6), 10**6).map(np.int64),
    )
    return st.lists(value, max_size=40)


def expected_numeric(edges: tuple[float, ...], values: list[Any]) -> tuple[list[int], int]:
    """The rule read plainly: ``float()`` or missing; bin = how many edges lie below."""
    counts = [0] * (len(edges) + 1)
    missing = 0
    for value in values:
        try:
            x = float(value) if value is not None else math.nan
        except (TypeError, ValueError, OverflowError):
            x = math.nan
        if math.isnan(x):
            missing += 1
        else:
            counts[sum(1 for e in edges if e < x)] += 1
    return counts, missing


def recorder_for(spec: FeatureSpec) -> PredictionRecorder:
    return PredictionRecorder(BaselineSpec("m", 1, (spec,)), registry=None, seed=0)


def recorded(spec: FeatureSpec, values: Any, how: str) -> tuple[list[int], int]:
    recorder = recorder_for(spec)
    if how == "record":
        for value in values:
            recorder.record({spec.name: value})
    elif how == "list":
        recorder.record_batch({spec.name: values})
    else:
        recorder.record_batch(pd.DataFrame({spec.name: pd.Series(values, dtype=object)}))
    snap = recorder.snapshot()
    counts = next(f for f in (*snap.numeric, *snap.categorical) if f.name == spec.name)
    return list(counts.counts), dict(snap.missing)[spec.name]


def drift_counted(spec: FeatureSpec, series: pd.Series) -> tuple[list[int], int]:
    counts, missing = spec.count(column_values(series, spec.kind))
    return [int(c) for c in counts], missing


@SETTINGS
@given(data=st.data(), edges=edges_strategy)
def test_numeric_counts_agree_for_any_values(data: st.DataObject, edges: tuple[float, ...]) -> None:
    values = data.draw(numeric_values(edges))
    spec = FeatureSpec("x", "numeric", edges=edges)
    want = expected_numeric(edges, values)
    assert recorded(spec, values, "record") == want
    assert recorded(spec, values, "list") == want
    assert recorded(spec, values, "frame") == want
    assert drift_counted(spec, pd.Series(values, dtype=object)) == want


@SETTINGS
@given(
    edges=edges_strategy,
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.none(), max_size=60),
)
def test_numeric_columns_count_as_their_values(edges: tuple[float, ...], values: list[Any]) -> None:
    """A float column (pandas' fast path in the drift engine) counts as the same values."""
    spec = FeatureSpec("x", "numeric", edges=edges)
    want = expected_numeric(edges, values)
    column = pd.Series([math.nan if v is None else v for v in values], dtype=float)
    assert drift_counted(spec, column) == want
    assert drift_counted(spec, column.astype("Float64")) == want
    assert recorded(spec, column.tolist(), "list") == want


@SETTINGS
@given(
    edges=edges_strategy,
    numbers=st.lists(st.floats(allow_nan=False, allow_infinity=True), max_size=60),
)
def test_sorted_counting_equals_counting(edges: tuple[float, ...], numbers: list[float]) -> None:
    """The drift engine's per-edge search over sorted values is the same rule."""
    array = np.asarray(numbers, dtype=float)
    assert count_sorted(edges, np.sort(array)).tolist() == count_numbers(edges, array).tolist()


words = st.sampled_from(["a", "b", "c", "true", "false", "1", "1.0", "0.0", "-0.0", "nan", ""])


def category_values() -> st.SearchStrategy[list[Any]]:
    """Anything a model server might hand the recorder for a categorical feature."""
    value = st.one_of(
        words,
        st.text(max_size=3),  # mostly unseen categories
        st.booleans(),
        st.integers(-3, 3),
        st.sampled_from([0.0, -0.0, 1.0, 2.5, math.nan]),
        st.none(),
        st.sampled_from([np.True_, np.False_, np.int64(1), np.float64(1.0), np.str_("a")]),
        st.sampled_from([Decimal("1"), Decimal("1.0"), Decimal("1.00")]),
    )
    return st.lists(value, max_size=40)


def expected_categories(vocabulary: tuple[str, ...], values: list[Any]) -> tuple[list[int], int]:
    """The rule read plainly: missing, else its name's vocabulary bin, else ``__other__``."""
    counts = [0] * (len(vocabulary) + 1)
    missing = 0
    for value in values:
        plain = value.item() if isinstance(value, np.generic) else value
        if plain is None or (isinstance(plain, float) and math.isnan(plain)):
            missing += 1
            continue
        name = ("true" if plain else "false") if isinstance(plain, bool) else str(plain)
        counts[vocabulary.index(name) if name in vocabulary else len(vocabulary)] += 1
    return counts, missing


@SETTINGS
@given(vocabulary=st.lists(words, max_size=5, unique=True).map(tuple), values=category_values())
def test_category_counts_agree_for_any_values(
    vocabulary: tuple[str, ...], values: list[Any]
) -> None:
    spec = FeatureSpec("plan", "categorical", vocabulary=vocabulary)
    want = expected_categories(vocabulary, values)
    assert recorded(spec, values, "record") == want
    assert recorded(spec, values, "list") == want
    assert recorded(spec, values, "frame") == want
    assert drift_counted(spec, pd.Series(values, dtype=object)) == want


@SETTINGS
@given(values=st.lists(st.one_of(words, st.none()), max_size=60))
def test_string_columns_count_as_their_values(values: list[Any]) -> None:
    """pandas' string dtype (missing as ``pd.NA``) counts as the plain values do."""
    spec = FeatureSpec("plan", "categorical", vocabulary=("a", "b", "nan"))
    want = expected_categories(spec.vocabulary, values)
    column = pd.Series(values, dtype="string")
    assert drift_counted(spec, column) == want
    assert recorded(spec, values, "list") == want
    assert recorded(spec, column.tolist(), "record") == want


@SETTINGS
@given(
    flags=st.lists(st.booleans(), max_size=60),
    codes=st.lists(st.integers(-3, 3), max_size=60),
)
def test_boolean_and_integer_columns_count_as_their_values(
    flags: list[bool], codes: list[int]
) -> None:
    """numpy bool and int columns (counted in bulk) count as the plain values do."""
    boolean = FeatureSpec("vip", "boolean", vocabulary=("false", "true"))
    want = expected_categories(boolean.vocabulary, flags)
    assert drift_counted(boolean, pd.Series(flags, dtype=bool)) == want
    assert recorded(boolean, np.asarray(flags, dtype=bool), "list") == want
    coded = FeatureSpec("code", "categorical", vocabulary=("-1", "0", "2", "2.0"))
    want = expected_categories(coded.vocabulary, codes)
    assert drift_counted(coded, pd.Series(codes, dtype=np.int64)) == want
    assert recorded(coded, np.asarray(codes, dtype=np.int64), "list") == want
