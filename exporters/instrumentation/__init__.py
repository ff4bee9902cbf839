"""Inference instrumentation (OpenTelemetry) for model servers: ``instrument(app)``,
``inference()``, ``track_request``/``track_generation``.

Public modules: ``names``, ``settings``.

The names in ``__all__`` are defined in ``_instrumentation`` and imported from it on first
use, so importing a sibling module (``.settings``) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inferwatch.exporters.instrumentation._instrumentation import (
        InferenceSpan,
        Instrumentation,
        QueueTicket,
        current,
        inference,
        instrument,
        track_generation,
        track_request,
    )

__all__ = [
    "InferenceSpan",
    "Instrumentation",
    "QueueTicket",
    "current",
    "inference",
    "instrument",
    "track_generation",
    "track_request",
]


def __getattr__(name: str) -> Any:
    """Import the implementation on first use of one of its names (PEP 562)."""
    if name in __all__:
        return getattr(
            importlib.import_module("inferwatch.exporters.instrumentation._instrumentation"), name
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
