"""Synthetic tables for the drift tests: seeded, with numeric, categorical and boolean columns."""

from collections.abc import Callable
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from inferwatch.contracts.handoffs import WINDOWS
from inferwatch.contracts.windows import LiveWindow, WindowSource
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


class HeldWindows:
    """A ``WindowSource`` over the windows a test fake holds (``held``: oldest first)."""

    def held(self, model: str) -> list[LiveWindow]:
        raise NotImplementedError

    def models(self) -> list[str]:
        raise NotImplementedError

    def latest_window(self, model: str, *, include_open: bool = False) -> LiveWindow | None:
        found = self.held(model)
        return found[-1] if found else None

    def closed_windows(
        self, model: str, *, ended_after: datetime | None, limit: int
    ) -> list[LiveWindow]:
        found = [w for w in self.held(model) if ended_after is None or w.end > ended_after]
        return found[-limit:]

    def outcome_cells(
        self, model: str, *, started_after: datetime | None = None
    ) -> list[tuple[datetime, int, dict[str, float]]]:
        return []
