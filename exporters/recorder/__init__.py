"""The prediction recorder: bins live values against a baseline next to the model and ships a
reservoir sample to the collector.

Public modules: ``baseline``, ``settings``.

The names in ``__all__`` are defined in ``_recorder`` and imported from it on first use, so
importing a sibling module (``.settings``) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inferwatch.exporters.recorder._recorder import (
        FeatureCounts,
        PredictionRecorder,
        RecorderSnapshot,
        Rows,
    )

__all__ = ["FeatureCounts", "PredictionRecorder", "RecorderSnapshot", "Rows"]


def __getattr__(name: str) -> Any:
    """Import the implementation on first use of one of its names (PEP 562)."""
    if name in __all__:
        return getattr(importlib.import_module("inferwatch.exporters.recorder._recorder"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
