"""Settings of the rules service (``alerts.rules`` / ``INFERWATCH_ALERTS__RULES__*``)."""

from pydantic import BaseModel, Field


class RulesSettings(BaseModel):
    """Rule evaluation against a Prometheus-compatible query API."""

    enabled: bool = Field(default=True, description="Run the rules service in `inferwatch up`.")
