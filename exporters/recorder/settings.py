"""Prediction recorder settings (``exporters.recorder`` in YAML,
``INFERWATCH_EXPORTERS__RECORDER__*``)."""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

INTERVAL_SAMPLE_SIZE = 200
"""Rows sampled per pod per interval (10 s). The collector merges the pods' samples into
its window's (``collector.reservoir_size``, 5000 per 300 s window) at the rate every
summary allows, so one pod alone fills a window from 20 predictions/s (30 intervals x
200 rows) and a fleet sooner, while a summary stays ~4x smaller than with 1000 rows
(bench/fleet.py measures both and the detection power per merged sample size)."""

MIN_SAMPLE_ROWS = 10
"""Rows a summary keeps at least, however low the collector's sample rate."""


class RecorderSettings(BaseModel):
    """The prediction recorder next to the model."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(default=None, description="Model whose predictions are recorded.")
    model_version: str = Field(default="", description="`model_version` label on every series.")
    baseline_file: Path | None = Field(
        default=None, description="Baseline JSON (Baseline.to_dict() form) mounted from a file."
    )
    drift_url: str | None = Field(
        default=None,
        description="Drift service base URL; the baseline is read from "
        "GET {drift_url}/drift/baselines/{model} when no baseline_file is set.",
    )
    collector_url: str | None = Field(
        default=None,
        description="Collector base URL; each interval's summary is POSTed to "
        "{collector_url}/collector/models/{model}/summaries (ship: records posts the "
        "sample to .../records). None ships nothing.",
    )
    collector_urls: list[str] = Field(
        default_factory=list,
        description="Further collector replicas: when the current one does not take a "
        "summary (no answer, 429, 5xx) the recorder ships to the next, in turn, and stays "
        "there; it backs off only when every one has failed.",
    )
    ship: Literal["summary", "records"] = Field(
        default="summary",
        description="summary: counts per baseline bin, missing, count and sum per feature "
        "and the sample, gzip-compressed, retried with backoff; records: the sample alone, "
        "tried once.",
    )
    expose_bins: bool = Field(
        default=False,
        description="Expose per-bin series (inferwatch_feature_value histogram, "
        "..._category_total, ..._missing_total) for the drift engine's PromQL histogram path; "
        "about 13 series per numeric and 22 per categorical feature per pod. Off: only the "
        "recorder's health and record count.",
    )
    max_pending_summaries: int = Field(
        default=6,
        ge=1,
        le=1000,
        description="Summaries kept for retry while the collector is away; older ones are "
        "dropped (counted in inferwatch_recorder_dropped_total{reason=queue_full}).",
    )
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token for the collector and drift service."
    )
    reservoir_size: int = Field(
        default=INTERVAL_SAMPLE_SIZE,
        ge=1,
        le=1_000_000,
        description="Records sampled per flush interval and shipped with its summary; the "
        "collector merges the pods' samples into each window's reservoir "
        "(collector.reservoir_size).",
    )
    flush_interval_seconds: float = Field(
        default=10.0, gt=0, description="Summary interval: how often what was recorded is shipped."
    )
    timeout_seconds: float = Field(
        default=5.0, gt=0, description="HTTP timeout for the collector and drift service."
    )
    prediction_feature: str = Field(
        default="prediction",
        description="Baseline feature the `prediction` argument is counted as (when it exists).",
    )
