"""The one category counting: a live value to a vocabulary bin or ``__other__``.

A categorical or boolean value is named by ``category_key`` (booleans ``"true"`` and
``"false"``, numpy scalars as the Python value they hold, anything else ``str``); a name
in the baseline's vocabulary has its bin, any other name goes to ``__other__``, so label
cardinality stays bounded. ``None``, NaN and pandas' ``NA``/``NaT`` are missing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np

OTHER: Final = "__other__"
"""Bin of categorical values outside the baseline's vocabulary."""
_PANDAS_MISSING: Final = frozenset({"NAType", "NaTType"})
_HASH_SAFE: Final = (bool, int, float, np.bool_, np.integer, np.floating)
"""Types whose equal values print alike (floats but for the sign of zero, checked apart)."""
"""pandas' missing-value singletons, known by class name so pandas need not be imported."""


def category_key(value: Any) -> str:
    """How a categorical or boolean value is named in a vocabulary."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_missing(value: Any) -> bool:
    """``None``, a float NaN, or pandas' ``NA``/``NaT``."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return type(value).__name__ in _PANDAS_MISSING


def category_counts(values: Iterable[Any]) -> tuple[dict[str, int], int]:
    """Rows per ``category_key`` of the values that are not missing, and the missing ones.

    Distinct values are counted first (hashing in C) and each is named once: the same
    counts as naming every row, at a fraction of the cost. Hashing merges values that
    are equal but named apart (``True``, ``1`` and ``1.0``; ``0.0`` and ``-0.0``), so when
    such values can be present the non-string rows are named one by one.
    """
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "biu":
        # Booleans and integers of one dtype: sorted in C, each distinct value named once.
        distinct_values, counts = np.unique(values, return_counts=True)
        named: dict[str, int] = {}
        for value, n in zip(distinct_values.tolist(), counts.tolist(), strict=True):
            key = category_key(value)
            named[key] = named.get(key, 0) + n
        return named, 0
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    try:
        distinct = Counter(items)
    except TypeError:  # unhashable values (lists, dicts): name every row
        return _name_each(items, strings=True)
    keys: dict[str, int] = {}
    missing = 0
    others: list[Any] = []
    for value, n in distinct.items():
        if isinstance(value, str):
            key = value if value.__class__ is str else str(value)
            keys[key] = keys.get(key, 0) + n
        elif is_missing(value):
            missing += n
        else:
            others.append(value)
    if not others:
        return keys, missing
    if not _hash_merges(set(map(type, items)), others):
        for value in others:
            key = category_key(value)
            keys[key] = keys.get(key, 0) + distinct[value]
        return keys, missing
    named, _ = _name_each(items, strings=False)
    for key, n in named.items():
        keys[key] = keys.get(key, 0) + n
    return keys, missing


def _hash_merges(kinds: set[type], others: Sequence[Any]) -> bool:
    """Whether counting by hash may have merged values with different names: values of
    two non-string types (``True``, ``1``, ``1.0``), a float zero (``0.0``, ``-0.0``), or
    a type whose equal values can print apart (``Decimal("1.0")``, ``Decimal("1.00")``)."""
    named = [k for k in kinds if not issubclass(k, str) and k is not type(None)]
    named = [k for k in named if k.__name__ not in _PANDAS_MISSING]
    if len(named) != 1 or not issubclass(named[0], _HASH_SAFE):
        return True
    return any(isinstance(v, float | np.floating) and v == 0 for v in others)


def _name_each(items: Sequence[Any], *, strings: bool) -> tuple[dict[str, int], int]:
    """Name every row (``strings=False``: only the rows that are not strings)."""
    keys: dict[str, int] = {}
    missing = 0
    for value in items:
        if not strings and isinstance(value, str):
            continue
        if is_missing(value):
            missing += 1
            continue
        key = category_key(value)
        keys[key] = keys.get(key, 0) + 1
    return keys, missing


def count_categories(vocabulary: Sequence[str], values: Iterable[Any]) -> tuple[np.ndarray, int]:
    """Counts per vocabulary bin then ``__other__`` (``len(vocabulary) + 1``), and missing."""
    keys, missing = category_counts(values)
    return counts_in(vocabulary, keys), missing


def counts_in(
    vocabulary: Sequence[str], keys: Mapping[str, int] | Mapping[str, float]
) -> np.ndarray:
    """Named counts folded into the vocabulary's bins, the rest into ``__other__`` (integer
    counts stay integers; the histogram path's extrapolated ones are floats)."""
    lookup = {category: i for i, category in enumerate(vocabulary)}
    other = len(vocabulary)
    exact = all(isinstance(n, int) for n in keys.values())
    counts = np.zeros(other + 1, dtype=np.int64 if exact else np.float64)
    for key, n in keys.items():
        counts[lookup.get(key, other)] += n
    return counts
