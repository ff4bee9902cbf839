"""The one binning rule: a live value to a baseline bin, the same in every part.

Bins follow Prometheus ``le`` semantics: with interior edges ``e[0] < ... < e[n-1]``,
bin ``i`` holds ``e[i-1] < x <= e[i]`` and the last one ``x > e[n-1]`` (label ``+Inf``),
so the recorder can publish them as a histogram. ``-inf`` falls in the first bin and
``+inf`` in the last. A value is a number when ``float()`` reads it (numbers, booleans,
numeric strings); ``None``, NaN and anything ``float()`` refuses (or overflows on) are
missing, counted apart and never binned.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any, Final

import numpy as np

NAN: Final = math.nan
_PLAIN: Final = frozenset({float, int, bool, type(None)})
"""Element types ``np.array(..., dtype=float)`` converts exactly as ``to_number`` does."""

bin_index: Final = bisect_left
"""``bin_index(edges, x)``: the bin of one number that is not NaN (``edges`` sorted).

It is ``bisect.bisect_left`` itself, so the recorder's per-record path pays no extra call."""


def to_number(value: Any) -> float:
    """``value`` as a float, or NaN when it is missing or not a number."""
    if value.__class__ is float:
        return float(value)
    if value is None:
        return NAN
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return NAN


def to_numbers(values: Iterable[Any]) -> np.ndarray:
    """``to_number`` of every value, as a float64 array (vectorised where that is exact)."""
    array = values if isinstance(values, np.ndarray) else None
    if array is None and not isinstance(values, list | tuple):
        try:  # pandas Series and other array-likes
            array = np.asarray(values)
        except (TypeError, ValueError):
            array = None
    if array is not None and array.ndim == 1 and array.dtype.kind in "biuf":
        return array.astype(np.float64)
    if array is not None and array.ndim == 1:
        items: list[Any] = array.tolist()
    else:
        items = list(values)
    if _PLAIN.issuperset(map(type, items)):
        try:
            return np.array(items, dtype=np.float64).reshape(len(items))
        except OverflowError:  # an int too large for a float: missing, as to_number says
            pass
    return np.fromiter((to_number(v) for v in items), dtype=np.float64, count=len(items))


def count_numbers(edges: Sequence[float] | np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """Counts per bin (``len(edges) + 1``) of numbers that are not NaN."""
    index = np.searchsorted(np.asarray(edges, dtype=float), numbers, side="left")
    return np.bincount(index, minlength=len(edges) + 1)


def count_sorted(edges: Sequence[float] | np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """``count_numbers`` for numbers already sorted: one binary search per edge, not per value."""
    upto = np.searchsorted(ordered, np.asarray(edges, dtype=float), side="right")
    return np.diff(np.concatenate(([0], upto, [ordered.size])))


def bin_numbers(
    edges: Sequence[float] | np.ndarray, values: Iterable[Any]
) -> tuple[np.ndarray, int, float]:
    """Counts per bin, missing values, and the sum of the binned numbers."""
    numbers = to_numbers(values)
    present = numbers[~np.isnan(numbers)]
    with np.errstate(over="ignore", invalid="ignore"):  # inf - inf is NaN, as one by one
        total = float(present.sum())
    return count_numbers(edges, present), int(numbers.size - present.size), total


def format_edge(edge: float) -> str:
    """An edge as Prometheus writes an ``le`` label (shortest round-trip form)."""
    if math.isinf(edge):
        return "+Inf" if edge > 0 else "-Inf"
    return repr(float(edge))
