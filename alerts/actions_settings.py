"""Settings of the actions receiver (``alerts.actions`` / ``INFERWATCH_ALERTS__ACTIONS__*``)."""

from pydantic import BaseModel, Field


class ActionsSettings(BaseModel):
    """The Alertmanager webhook receiver and its action targets."""

    enabled: bool = Field(default=True, description="Run the actions receiver in `inferwatch up`.")
