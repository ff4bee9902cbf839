"""The actions part as it runs inside an inferwatch service."""

from __future__ import annotations

from inferwatch.parts import BasePart, Part, PartContext


class ActionsPart(BasePart):
    """Turns Alertmanager webhooks into actions, exactly once."""

    name = "actions"


def build_part(context: PartContext) -> Part:
    """Build the actions part on the shared context."""
    return ActionsPart(context)
