"""How drift is decided: methods per feature kind, thresholds, corrections, minimum sizes.

Part of ``DriftSettings`` (``drift.policy`` in YAML), and accepted by
``inferwatch drift check``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class DriftPolicy(BaseModel):
    """Defaults chosen so that a no-drift window rarely alarms, at any window size."""

    min_rows: int = Field(
        default=100, ge=1, description="Below this, the verdict is not_enough_data."
    )
