"""Live windows: what the collector (producer) hands the drift engine (consumer).

The collector windows accepted prediction records (tumbling windows) and keeps a bounded
uniform sample of each window's records (``sample.reservoir_slots``). In one process
(``inferwatch up``) it publishes a ``WindowSource`` the drift engine reads; in any other
process sharing the state store, a reader over the same tables is the ``WindowSource``
(``inferwatch.registry.STORE_READERS``), so drift replicas need no collector beside them.
Both sides are server parts, so the sample is a pandas DataFrame; this module names the
type for the type checker only and never imports pandas itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from inferwatch.contracts.summary import FeatureSummary


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
    baseline_version: int | None = None
    """Baseline version of ``counts`` (None: no summary was merged into the window)."""
    counts: dict[str, FeatureSummary] = field(default_factory=dict, compare=False, repr=False)
    """Per feature, the merged summaries' bin counts, missing count and sum; empty when
    only raw records came."""


class WindowSource(Protocol):
    """Where the drift engine's sample path gets live windows."""

    def models(self) -> list[str]:
        """Models that have records."""
        ...

    def latest_window(self, model: str, *, include_open: bool = False) -> LiveWindow | None:
        """The newest closed window (or the open one when asked), or None."""
        ...

    def closed_windows(
        self, model: str, *, ended_after: datetime | None, limit: int
    ) -> list[LiveWindow]:
        """Closed windows that ended after ``ended_after`` (None: any), oldest first; the
        newest ``limit`` of them."""
        ...

    def outcome_cells(
        self, model: str, *, started_after: datetime | None = None
    ) -> list[tuple[datetime, int, dict[str, float]]]:
        """Per window start (oldest first) and baseline version, the summed outcome cells
        (``inferwatch.contracts.outcomes``; model quality)."""
        ...
