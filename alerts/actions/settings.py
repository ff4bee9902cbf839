"""Settings of the actions receiver (``alerts.actions`` / ``INFERWATCH_ALERTS__ACTIONS__*``).

Secrets (the receiver's bearer token, basic-auth password and HMAC secret) come
from the environment or from a file (``*_file``, e.g. a mounted Kubernetes
Secret); they are ``SecretStr`` so that they never show in logs or ``repr``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


def read_secret(value: SecretStr | None, path: Path | None, what: str) -> SecretStr | None:
    """The secret given inline (env) or read from ``path``; never both, never empty."""
    if value is not None and path is not None:
        raise ValueError(f"{what}: give the value or the file, not both")
    if path is not None:
        try:
            text = path.read_text().strip()
        except OSError as exc:
            raise ValueError(f"{what}: cannot read {path}: {exc.strerror}") from exc
        value = SecretStr(text)
    if value is not None and not value.get_secret_value().strip():
        raise ValueError(f"{what} is set but empty")
    return value


class ActionsSettings(BaseModel):
    """The Alertmanager webhook receiver and its action targets."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Run the actions receiver in `inferwatch up`.")
    policy_file: Path | None = Field(
        default=None,
        description="YAML policy: which `action` label runs which target, cooldowns, limits. "
        "Without one every alert is audited as ignored.",
    )
    dry_run: bool = Field(
        default=False,
        description="Decide and audit as usual but never call a target (overrides the policy).",
    )
    bearer_token: SecretStr | None = Field(
        default=None,
        description="Token Alertmanager must send (`http_config.authorization`). Falls back to "
        "server.api_token when no receiver auth is set.",
    )
    bearer_token_file: Path | None = Field(
        default=None, description="File holding the bearer token (instead of bearer_token)."
    )
    basic_auth_username: str | None = Field(
        default=None, description="User name Alertmanager must send (`http_config.basic_auth`)."
    )
    basic_auth_password: SecretStr | None = Field(
        default=None, description="Basic-auth password expected with basic_auth_username."
    )
    basic_auth_password_file: Path | None = Field(
        default=None, description="File holding the basic-auth password."
    )
    hmac_secret: SecretStr | None = Field(
        default=None,
        description="Accept senders that sign with HMAC-SHA256 in the header "
        '`X-Inferwatch-Signature: t=<unix>,v1=<hex of HMAC("t.body")>` (for senders other '
        "than Alertmanager); stale timestamps and replays are refused.",
    )
    hmac_secret_file: Path | None = Field(default=None, description="File holding the HMAC secret.")
    signature_tolerance_seconds: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        description="A signed webhook's timestamp may be this far from now; a signature "
        "already seen within it is a replay and refused.",
    )
    retention_days: float = Field(
        default=30.0,
        ge=1,
        description="Audit rows and finished outbox (dedup) rows older than this are deleted; "
        "a still-firing alert's dedup row is kept while Alertmanager re-sends it.",
    )
    retention_interval_seconds: float = Field(
        default=3600.0, gt=0, description="How often the background pruning runs."
    )
    drift_url: str | None = Field(
        default=None,
        description="Drift service base URL whose latest result is attached to each action "
        "(features, verdict); not needed when the drift engine runs in the same process.",
    )
    drift_token: SecretStr | None = Field(
        default=None, description="Bearer token for drift_url, when the drift API needs one."
    )
    workers: int = Field(default=2, ge=1, le=32, description="Concurrent outbox deliveries.")
    max_attempts: int = Field(
        default=8, ge=1, le=100, description="Deliveries tried before an action is failed."
    )
    backoff_initial_seconds: float = Field(
        default=1.0, gt=0, description="Delay before the first retry; doubles each attempt."
    )
    backoff_max_seconds: float = Field(
        default=300.0, gt=0, description="Upper bound of one retry delay (before jitter)."
    )
    poll_interval_seconds: float = Field(
        default=1.0, gt=0, description="How often idle workers look at the outbox."
    )
    lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A claimed delivery not finished in this time (crashed worker) is retried.",
    )
    request_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Timeout of one call to a target (CI, webhook, Kubernetes)."
    )

    @model_validator(mode="after")
    def _resolve_secrets(self) -> ActionsSettings:
        self.bearer_token = read_secret(
            self.bearer_token, self.bearer_token_file, "alerts.actions.bearer_token"
        )
        self.bearer_token_file = None
        self.basic_auth_password = read_secret(
            self.basic_auth_password,
            self.basic_auth_password_file,
            "alerts.actions.basic_auth_password",
        )
        self.basic_auth_password_file = None
        self.hmac_secret = read_secret(
            self.hmac_secret, self.hmac_secret_file, "alerts.actions.hmac_secret"
        )
        self.hmac_secret_file = None
        if (self.basic_auth_username is None) != (self.basic_auth_password is None):
            raise ValueError("basic_auth_username and basic_auth_password go together")
        return self
