"""Multiple-testing correction across a window's tests (all features, one family).

Each feature is tested separately; with 22 features at alpha 0.05 about two in three
no-drift windows would flag something by chance. Adjusting the p-values makes the
per-window false-alarm rate the policy's alpha (Holm: family-wise error rate) or
bounds the share of false discoveries (Benjamini-Hochberg).

Example:
    >>> adjust([0.01, 0.04, 0.03], "holm")
    (0.03, 0.06, 0.06)
    >>> adjust([0.01, 0.04, 0.03], "bh")
    (0.03, 0.04, 0.04)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

Correction = Literal["holm", "bh", "none"]


def holm(p_values: Sequence[float]) -> tuple[float, ...]:
    """Holm's step-down adjusted p-values (controls the family-wise error rate)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return ()
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return tuple(float(v) for v in adjusted)


def benjamini_hochberg(p_values: Sequence[float]) -> tuple[float, ...]:
    """Benjamini-Hochberg step-up adjusted p-values (controls the false discovery rate)."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return ()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return tuple(float(v) for v in adjusted)


def adjust(p_values: Sequence[float], method: Correction) -> tuple[float, ...]:
    """Adjusted p-values by ``method`` (``none`` returns them unchanged)."""
    if any(not 0.0 <= v <= 1.0 for v in p_values):
        raise ValueError("p-values must lie in [0, 1]")
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        return benjamini_hochberg(p_values)
    if method == "none":
        return tuple(float(v) for v in p_values)
    raise ValueError(f"unknown correction {method!r} (known: holm, bh, none)")
