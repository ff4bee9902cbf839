"""The rules part as it runs inside an inferwatch service."""

from __future__ import annotations

from inferwatch.parts import BasePart, Part, PartContext


class RulesPart(BasePart):
    """Evaluates rule groups and posts alerts to Alertmanager."""

    name = "rules"


def build_part(context: PartContext) -> Part:
    """Build the rules part on the shared context."""
    return RulesPart(context)
