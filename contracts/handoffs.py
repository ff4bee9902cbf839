"""What the collector, the drift engine and the actions receiver hand each other in one process.

In ``inferwatch up`` every part runs in one process and they share objects instead
of HTTP calls: each key below names the protocol its consumer gets (or None, when
the producer does not run in this process). Across processes the same facts travel
over each part's HTTP API.

| key | producer | consumer |
|---|---|---|
| ``WINDOWS`` | collector (``WindowStore``) | drift engine (the sample path) |
| ``BASELINES`` | drift engine (``BaselineStore``) | collector (validating records) |
| ``DRIFT_RESULTS`` | drift engine (``ResultStore``) | actions receiver (action payloads) |
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from inferwatch.handoffs import Handoff

if TYPE_CHECKING:  # annotations only: importing this module stays cheap
    from inferwatch.contracts.results import DriftEvaluation
    from inferwatch.contracts.spec import BaselineSpec
    from inferwatch.contracts.windows import WindowSource


class BaselineSource(Protocol):
    """The latest baseline of a model, as the drift engine keeps them."""

    def get(self, model: str) -> BaselineSpec | None:
        """The model's newest baseline, or None."""
        ...


class LatestResults(Protocol):
    """The newest evaluation per model, as the drift engine records them."""

    def latest(self, model: str) -> DriftEvaluation | None:
        """The model's newest evaluation, or None."""
        ...


WINDOWS: Handoff[WindowSource] = Handoff("windows")
BASELINES: Handoff[BaselineSource] = Handoff("baselines")
DRIFT_RESULTS: Handoff[LatestResults] = Handoff("drift_results")
