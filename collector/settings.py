"""Collector settings (``collector:`` in YAML, ``INFERWATCH_COLLECTOR__*``)."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from inferwatch.contracts.defaults import DEFAULT_SAMPLE_SIZE


class CollectorSettings(BaseModel):
    """How the collector takes in, bounds and windows prediction records."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        default=True, description="Run the collector when `inferwatch up` starts."
    )
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted; bigger ones get 413 "
        "(INFERWATCH_COLLECTOR__MAX_BODY_BYTES).",
    )
    queue_capacity_rows: int = Field(
        default=500_000,
        ge=1,
        description="Records that may wait for the window writer at once; past it, 429 with "
        "Retry-After (INFERWATCH_COLLECTOR__QUEUE_CAPACITY_ROWS). Bounds memory with "
        "max_body_bytes.",
    )
    retry_after_seconds: int = Field(
        default=1, ge=1, le=3600, description="Retry-After sent with 429 answers."
    )
    window_seconds: int = Field(
        default=300,
        ge=1,
        description="Length of the tumbling windows (by arrival time), in seconds "
        "(INFERWATCH_COLLECTOR__WINDOW_SECONDS).",
    )
    reservoir_size: int = Field(
        default=DEFAULT_SAMPLE_SIZE,
        ge=1,
        le=1_000_000,
        description="Records kept per model and window (uniform reservoir sample) "
        "(INFERWATCH_COLLECTOR__RESERVOIR_SIZE).",
    )
    retention_windows: int = Field(
        default=288,
        ge=1,
        description="Closed windows kept per model; older ones are deleted "
        "(INFERWATCH_COLLECTOR__RETENTION_WINDOWS).",
    )
    outcome_ttl_seconds: int = Field(
        default=7 * 24 * 3600,
        ge=60,
        description="How long a prediction sent with an id and no actual waits for its actual "
        "(POST .../outcomes), and how long windows' outcome counts are kept "
        "(INFERWATCH_COLLECTOR__OUTCOME_TTL_SECONDS).",
    )
    baseline_dir: Path | None = Field(
        default=None,
        description="Directory of baseline JSON files (Baseline.to_dict() form) used when no "
        "drift engine runs in the same process (INFERWATCH_COLLECTOR__BASELINE_DIR).",
    )
    max_rows_per_request: int = Field(
        default=1_000_000,
        ge=1,
        description="Most records one request may carry, in any format (Arrow counted from its "
        "metadata before decoding); more gets 413 (INFERWATCH_COLLECTOR__MAX_ROWS_PER_REQUEST).",
    )
    max_decoded_bytes: int = Field(
        default=128 * 1024 * 1024,
        ge=1024,
        description="Most bytes an Arrow IPC body may decode to (every buffer, compressed or "
        "not, dictionaries and their expansion included), checked from the IPC metadata "
        "before decoding; more gets 413 (INFERWATCH_COLLECTOR__MAX_DECODED_BYTES).",
    )
    max_string_bytes: int = Field(
        default=4096,
        ge=1,
        description="Longest string value (UTF-8 bytes) of a categorical or boolean feature; "
        "longer gets 422 naming field and row (INFERWATCH_COLLECTOR__MAX_STRING_BYTES).",
    )
    max_field_name_bytes: int = Field(
        default=256,
        ge=1,
        description="Longest field name in a request; longer gets 422 "
        "(INFERWATCH_COLLECTOR__MAX_FIELD_NAME_BYTES).",
    )
    allow_unknown_fields: bool = Field(
        default=False,
        description="Ignore fields the baseline does not know instead of answering 422.",
    )
