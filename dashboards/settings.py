"""Settings for pushing dashboards to Grafana (``dashboards:`` / ``INFERWATCH_DASHBOARDS__*``)."""

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class DashboardSettings(BaseModel):
    """Where `inferwatch dashboards push` sends the dashboards."""

    model_config = ConfigDict(extra="forbid")

    grafana_url: str | None = Field(default=None, description="Grafana base URL.")
    grafana_token: SecretStr | None = Field(
        default=None, description="Grafana service-account token."
    )
    folder: str = Field(default="inferwatch", description="Folder the dashboards go into.")
