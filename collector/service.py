"""The collector part as it runs inside an inferwatch service."""

from __future__ import annotations

from inferwatch.parts import BasePart, Part, PartContext


class CollectorPart(BasePart):
    """Takes in prediction records and windows them."""

    name = "collector"


def build_part(context: PartContext) -> Part:
    """Build the collector part on the shared context."""
    return CollectorPart(context)
