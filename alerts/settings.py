"""Settings of the alerts part (``alerts:`` in the YAML file, ``INFERWATCH_ALERTS__*``)."""

from pydantic import BaseModel, ConfigDict, Field

from inferwatch.alerts.actions.settings import ActionsSettings
from inferwatch.alerts.rules.settings import RulesSettings


class AlertsSettings(BaseModel):
    """The rules service and the actions receiver."""

    model_config = ConfigDict(extra="forbid")

    alertmanager_url: str | None = Field(
        default=None, description="Alertmanager base URL, e.g. http://alertmanager:9093."
    )
    rules: RulesSettings = Field(default_factory=RulesSettings)
    actions: ActionsSettings = Field(default_factory=ActionsSettings)
