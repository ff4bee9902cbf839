"""Shared data for the collector and recorder benchmarks: 22 columns (18 numeric, 4 categorical)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from inferwatch.drift.baseline import Baseline, infer_baseline

NUMERIC = 18
CATEGORICAL = 4


def records(rows: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic prediction records: 18 float features, 4 string features."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {f"x{i}": rng.normal(i, 1 + i / 10, rows) for i in range(NUMERIC)}
    for i in range(CATEGORICAL):
        data[f"c{i}"] = rng.choice([f"v{j}" for j in range(12)], rows)
    return pd.DataFrame(data)


def baseline(model: str = "bench") -> Baseline:
    """The benchmark model's baseline (10 bins, top-10 vocabulary)."""
    return infer_baseline(model, records(20_000, seed=1), bins=10, top_k=10)


def whylogs_profile(frame: pd.DataFrame) -> None:
    """The peer: profile a frame with whylogs."""
    import os

    os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")
    import whylogs as why

    why.log(pandas=frame)
