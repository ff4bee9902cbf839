"""Collector settings (``collector:`` in YAML, ``INFERWATCH_COLLECTOR__*``)."""

from pydantic import BaseModel, Field


class CollectorSettings(BaseModel):
    """How the collector takes in prediction records."""

    enabled: bool = Field(
        default=True, description="Run the collector when `inferwatch up` starts."
    )
