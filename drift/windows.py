"""Live windows: the contract between the collector (producer) and the drift engine.

The collector windows accepted prediction records (tumbling windows) and keeps a
bounded reservoir sample of each window's raw records; in one process
(`inferwatch up`) it publishes an object satisfying ``WindowSource`` under
``inferwatch.drift.handoffs.WINDOWS`` and the drift engine reads it. Across
processes, the collector serves the same over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import pandas as pd


@dataclass(frozen=True)
class LiveWindow:
    """One closed (or the current) window of one model's accepted records."""

    model: str
    start: datetime
    end: datetime
    rows: int
    """Records accepted in the window; ``sample`` may hold fewer (reservoir)."""
    sample: pd.DataFrame = field(compare=False, repr=False)
    closed: bool = True


class WindowSource(Protocol):
    """Where the drift engine's sample path gets live windows."""

    def models(self) -> list[str]:
        """Models that have records."""
        ...

    def latest_window(self, model: str, *, include_open: bool = False) -> LiveWindow | None:
        """The newest closed window (or the open one when asked), or None."""
        ...
