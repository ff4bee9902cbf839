"""Settings of the drift engine (``drift:`` in the YAML file, ``INFERWATCH_DRIFT__*``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from inferwatch.contracts.defaults import DEFAULT_BINS, DEFAULT_SAMPLE_SIZE, DEFAULT_TOP_K
from inferwatch.drift.policy import DriftPolicy
from inferwatch.drift.quality._policy import QualityPolicy


class DriftSettings(BaseModel):
    """Baselines, statistics and the evaluation schedule."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        default=True, description="Run the drift engine when `inferwatch up` starts."
    )
    policy: DriftPolicy = Field(default_factory=DriftPolicy)
    interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often the engine evaluates every model that has a baseline.",
    )
    include_open_window: bool = Field(
        default=False,
        description="Sample path: evaluate the collector's open window when no window has "
        "closed yet (closed windows are always preferred).",
    )
    quality: QualityPolicy = Field(
        default_factory=QualityPolicy,
        description="How a window's model quality is judged (models whose baseline names "
        "its outcome columns): reference band, floors, when realized replaces estimated.",
    )
    quality_horizon_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="Windows this recent are judged again each round as their labels "
        "arrive; older results are forgotten (match collector.outcome_ttl_seconds).",
    )
    window_grace_seconds: float = Field(
        default=2.0,
        ge=0,
        description="A window is evaluated this long after it ends, so that summaries and "
        "records the collectors accepted just before its end have committed.",
    )
    catch_up_windows: int = Field(
        default=60,
        ge=1,
        description="Most closed windows one round evaluates per model (oldest first); "
        "a longer backlog keeps its newest windows and logs a warning.",
    )
    prometheus_url: str | None = Field(
        default=None,
        description="Prometheus-compatible query API (Prometheus, Thanos, Mimir). When set, "
        "the engine reads live windows from the recorder's histograms with PromQL "
        "(histogram path) instead of the collectors' windows in the state store.",
    )
    prometheus_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Timeout of one PromQL query."
    )
    prometheus_bearer_token: str | None = Field(
        default=None, description="Bearer token sent to the Prometheus API, when it needs one."
    )
    window_seconds: int = Field(
        default=3600,
        ge=1,
        description="Histogram path: the lookback of each evaluation, the range in "
        "`increase(...[window])`.",
    )
    history_limit: int = Field(
        default=10_000,
        ge=1,
        description="Evaluations kept per model in the state store; older ones are pruned.",
    )
    baseline_bins: int = Field(
        default=DEFAULT_BINS,
        ge=2,
        description="Default number of quantile bins per numeric feature.",
    )
    baseline_top_k: int = Field(
        default=DEFAULT_TOP_K, ge=1, description="Default vocabulary size per categorical feature."
    )
    baseline_sample_size: int = Field(
        default=DEFAULT_SAMPLE_SIZE,
        ge=0,
        description="Default rows of reference sample kept per baseline.",
    )
    max_upload_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="Largest reference upload accepted by POST /drift/baselines/{model}; "
        "bigger ones get 413.",
    )
    report_max_rows: int = Field(
        default=5000,
        ge=10,
        description="Rows of each side (reference, window) given to the evidently report.",
    )
    report_cache_size: int = Field(
        default=8, ge=1, description="Rendered reports kept in memory (one per model and window)."
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL of the drift API as users reach it, for report links; defaults "
        "to server.public_url, then the bind address.",
    )

    @field_validator("prometheus_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value.rstrip("/")
