"""Settings of the rules service (``alerts.rules`` / ``INFERWATCH_ALERTS__RULES__*``)."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


def _check_url(value: str, name: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{name} must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


class RulesSettings(BaseModel):
    """Rule evaluation against a Prometheus-compatible query API."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Run the rules service in `inferwatch up`.")
    query_url: str | None = Field(
        default=None,
        description="Prometheus-compatible API base URL (Prometheus, Thanos Query, Mimir's "
        "/prometheus prefix), e.g. http://prometheus:9090. Without it nothing is evaluated.",
    )
    query_bearer_token: SecretStr | None = Field(
        default=None, description="Bearer token sent with every query."
    )
    query_timeout_seconds: float = Field(default=10.0, gt=0, description="Per-query timeout.")
    rule_files: list[Path] = Field(
        default_factory=list, description="Extra rule files (Prometheus rule-file format)."
    )
    include_default_rules: bool = Field(
        default=True, description="Also evaluate the rule groups shipped in alerts/rules/."
    )
    evaluation_interval_seconds: float = Field(
        default=60.0, gt=0, description="Interval of groups that set none."
    )
    resend_delay_seconds: float = Field(
        default=60.0, ge=0, description="Minimum wait before re-sending a firing alert."
    )
    resolved_retention_seconds: float = Field(
        default=900.0, ge=0, description="How long a resolved alert is kept and re-sent."
    )
    restore_tolerance_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="Restore saved alert state at start when saved at most this long ago.",
    )
    leader_lease_seconds: float = Field(
        default=15.0,
        gt=0,
        le=3600,
        description="Replicas on PostgreSQL: one leader evaluates and posts alerts; when it "
        "stops renewing, another takes over after at most this long (with the same startsAt).",
    )
    external_url: str | None = Field(
        default=None,
        description="$externalURL in templates: the inferwatch (drift service) public URL "
        "report links point at. Defaults to server.public_url.",
    )
    graph_url: str | None = Field(
        default=None,
        description="Base of alerts' generatorURL (a Prometheus UI); defaults to query_url.",
    )
    external_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels added to every alert sent (if not set)."
    )
    alertmanager_urls: list[str] = Field(
        default_factory=list,
        description="Alertmanagers to post to, in addition to alerts.alertmanager_url.",
    )
    alertmanager_bearer_token: SecretStr | None = Field(
        default=None, description="Bearer token sent to the Alertmanagers."
    )
    alertmanager_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Per-request timeout towards Alertmanager."
    )
    alertmanager_retries: int = Field(
        default=1,
        ge=0,
        le=10,
        description="Retries of a failed post (network, 429, 5xx; honouring Retry-After).",
    )

    @field_validator("query_url", "external_url", "graph_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value, "URL")

    @field_validator("alertmanager_urls")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        return [_check_url(v, "alertmanager_urls entry") for v in value]
