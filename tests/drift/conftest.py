"""Synthetic tables for the drift tests: seeded, with numeric, categorical and boolean columns."""

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from inferwatch.contracts.handoffs import WINDOWS
from inferwatch.contracts.windows import WindowSource
from inferwatch.handoffs import Handoffs

MakeTable = Callable[..., pd.DataFrame]


def _make_table(
    rng: np.random.Generator, rows: int, *, shift: float = 0.0, scale: float = 1.0
) -> pd.DataFrame:
    """Six features; ``shift`` and ``scale`` move the ``x`` column only."""
    return pd.DataFrame(
        {
            "x": rng.normal(shift, scale, rows),
            "y": rng.exponential(2.0, rows),
            "k": rng.poisson(3, rows),
            "plan": rng.choice(["free", "pro", "team", "ent"], rows, p=[0.5, 0.3, 0.15, 0.05]),
            "region": rng.choice(list("abcdefgh"), rows),
            "flag": rng.random(rows) < 0.2,
        }
    )


@pytest.fixture
def make_table() -> MakeTable:
    """``make_table(rng, rows, shift=0.0, scale=1.0)``: a seeded synthetic window."""
    return _make_table


def handed(windows: WindowSource) -> Handoffs:
    """Hand-offs as the collector leaves them in ``inferwatch up``: its window source."""
    handoffs = Handoffs()
    handoffs.publish(WINDOWS, windows)
    return handoffs
