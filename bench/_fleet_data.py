"""The fleet benchmarks' model: 40 features, 30 numeric and 10 categorical.

Numeric features are normal with their own centre and scale (1% missing in a third of
them); categorical ones draw from Zipf-like vocabularies of realistic sizes (a device
type of 3 values up to a country or product code of 200), so baseline vocabularies hold
their top values plus ``__other__``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from inferwatch.drift.baseline import Baseline, infer_baseline

NUMERIC = 30
VOCABULARIES = (3, 4, 5, 8, 12, 20, 30, 50, 100, 200)
"""Distinct values per categorical feature."""
MISSING = 0.01


def _probabilities(size: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1) ** 1.1
    return np.asarray(weights / weights.sum())


def columns(rows: int, rng: np.random.Generator, *, shift: float = 0.0) -> dict[str, np.ndarray]:
    """``rows`` prediction records, column by column; ``shift`` moves ``x0``'s mean by that
    many standard deviations."""
    data: dict[str, np.ndarray] = {}
    for i in range(NUMERIC):
        scale = 1.0 + i / 10
        values = rng.normal(i + shift * scale * (i == 0), scale, rows)
        if i % 3 == 2:
            values[rng.random(rows) < MISSING] = np.nan
        data[f"x{i}"] = values
    for i, size in enumerate(VOCABULARIES):
        codes = rng.choice(size, rows, p=_probabilities(size))
        data[f"c{i}"] = np.array([f"v{j}" for j in range(size)], dtype=object)[codes]
    return data


def baseline(model: str = "fleet") -> Baseline:
    """The model's baseline from 20,000 reference rows (the drift engine's defaults)."""
    reference = pd.DataFrame(columns(20_000, np.random.default_rng(1)))
    return infer_baseline(model, reference)
