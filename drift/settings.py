"""Settings of the drift engine (``drift:`` in the YAML file, ``INFERWATCH_DRIFT__*``)."""

from pydantic import BaseModel, Field

from inferwatch.drift.policy import DriftPolicy


class DriftSettings(BaseModel):
    """Baselines, statistics and the evaluation schedule."""

    enabled: bool = Field(
        default=True, description="Run the drift engine when `inferwatch up` starts."
    )
    policy: DriftPolicy = Field(default_factory=DriftPolicy)
