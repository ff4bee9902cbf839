"""The drift part as it runs inside an inferwatch service."""

from __future__ import annotations

from inferwatch.parts import BasePart, Part, PartContext


class DriftPart(BasePart):
    """Evaluates live windows against baselines on a schedule."""

    name = "drift"


def build_part(context: PartContext) -> Part:
    """Build the drift part on the shared context."""
    return DriftPart(context)
