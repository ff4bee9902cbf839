"""Instrumentation settings (``exporters.instrumentation`` in YAML).

Every field has an environment variable ``INFERWATCH_EXPORTERS__INSTRUMENTATION__<FIELD>``
(lists and maps as JSON, e.g. ``...__LATENCY_BUCKETS_S='[0.001, 0.01, 0.1, 1]'``).
"""

from __future__ import annotations

import itertools

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

DEFAULT_LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
"""Sub-millisecond (a small tabular model) to a minute (a long generation)."""

DEFAULT_TOKEN_LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
)
"""Time per output token: the semantic conventions' boundaries plus 1-5 ms for fast GPUs."""

DEFAULT_TOKEN_BUCKETS: tuple[float, ...] = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
)
"""Tokens per request (``gen_ai.client.token.usage`` boundaries, cut at 1 Mi)."""

DEFAULT_BATCH_BUCKETS: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
DEFAULT_SIZE_BUCKETS_BYTES: tuple[float, ...] = (
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
)


class InstrumentationSettings(BaseModel):
    """OpenTelemetry instrumentation of a model server (``exporters.instrumentation``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        default=True,
        description="Record anything at all; false makes `instrument()` add nothing to the app.",
    )
    model: str | None = Field(
        default=None,
        min_length=1,
        description="Default `model` attribute when `instrument()` is not given one.",
    )
    model_version: str | None = Field(
        default=None,
        min_length=1,
        description="Default `model_version` attribute when `instrument()` is not given one.",
    )
    service_name: str = Field(
        default="inferwatch-model-server",
        min_length=1,
        description="OTel resource `service.name` (shows in `target_info` and OTLP).",
    )
    prometheus: bool = Field(
        default=True,
        description="Expose the instruments on the Prometheus registry (OTel Prometheus reader).",
    )
    metrics_path: str | None = Field(
        default="/metrics",
        description="Route `instrument()` adds to serve the registry; null adds none.",
    )
    target_info: bool = Field(
        default=True, description="Publish the OTel `target_info` series with resource attributes."
    )
    scope_labels: bool = Field(
        default=True,
        description="Keep the `otel_scope_*` labels the OTel Prometheus reader adds to series.",
    )
    otlp_endpoint: HttpUrl | None = Field(
        default=None,
        description="Also push over OTLP/HTTP (protobuf) to this URL, e.g. "
        "http://otel-collector:4318/v1/metrics; null disables the push.",
    )
    otlp_headers: dict[str, str] = Field(
        default_factory=dict, description="Extra HTTP headers on OTLP pushes (e.g. auth)."
    )
    otlp_interval_s: float = Field(default=15.0, gt=0, description="Seconds between OTLP pushes.")
    otlp_timeout_s: float = Field(default=10.0, gt=0, description="Timeout of one OTLP push.")
    latency_buckets_s: list[float] = Field(
        default_factory=lambda: list(DEFAULT_LATENCY_BUCKETS_S),
        description="Bucket bounds (seconds) for request, inference, queue and first-token time.",
    )
    token_latency_buckets_s: list[float] = Field(
        default_factory=lambda: list(DEFAULT_TOKEN_LATENCY_BUCKETS_S),
        description="Bucket bounds (seconds) for time per output token.",
    )
    token_buckets: list[float] = Field(
        default_factory=lambda: list(DEFAULT_TOKEN_BUCKETS),
        description="Bucket bounds for tokens per request (input and output).",
    )
    batch_size_buckets: list[float] = Field(
        default_factory=lambda: list(DEFAULT_BATCH_BUCKETS),
        description="Bucket bounds for the batch size of an inference.",
    )
    size_buckets_bytes: list[float] = Field(
        default_factory=lambda: list(DEFAULT_SIZE_BUCKETS_BYTES),
        description="Bucket bounds (bytes) for request and response payload sizes.",
    )
    record_body_size: bool = Field(
        default=False,
        description="Record HTTP request/response body sizes (two more SDK records per request).",
    )
    exemplars: bool = Field(
        default=False,
        description="Attach trace exemplars to measurements made inside a sampled span "
        "(OTLP only; costs a context lookup per measurement).",
    )
    excluded_routes: list[str] = Field(
        default_factory=lambda: ["/metrics"],
        description="Route templates the middleware does not record (scrapes, probes).",
    )
    gen_ai_operation: str = Field(
        default="text_completion",
        min_length=1,
        description="`gen_ai.operation.name` on gen_ai.* instruments (chat, text_completion, …).",
    )
    gen_ai_provider: str | None = Field(
        default=None,
        description="`gen_ai.provider.name` on the gen_ai.* instruments; omitted when null.",
    )
    gpu: bool = Field(
        default=False,
        description="Start the GPU exporter in-process on the same registry (needs NVML).",
    )

    @field_validator(
        "latency_buckets_s",
        "token_latency_buckets_s",
        "token_buckets",
        "batch_size_buckets",
        "size_buckets_bytes",
    )
    @classmethod
    def _increasing(cls, bounds: list[float]) -> list[float]:
        if not bounds:
            raise ValueError("needs at least one bucket bound")
        if bounds[0] < 0:
            raise ValueError(f"bucket bounds must not be negative, got {bounds[0]}")
        for low, high in itertools.pairwise(bounds):
            if high <= low:
                raise ValueError(f"bucket bounds must increase strictly: {low} then {high}")
        return bounds

    @field_validator("metrics_path")
    @classmethod
    def _path(cls, path: str | None) -> str | None:
        if path is not None and not path.startswith("/"):
            raise ValueError(f"metrics_path must start with '/', got {path!r}")
        return path
