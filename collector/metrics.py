"""The collector's own metrics (names fixed in docs/contracts.md)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

UNKNOWN_MODEL = "__unknown__"
"""``model`` label of rejections for models without a baseline (bounds cardinality)."""


class CollectorMetrics:
    """Counters and gauges on the service's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.records = Counter(
            "inferwatch_collector_records",
            "Prediction records accepted (committed to a window), by format.",
            ["model", "format"],
            registry=registry,
        )
        self.rejected = Counter(
            "inferwatch_collector_rejected",
            "Requests refused, by reason (invalid, format, too_large, queue_full, "
            "no_baseline, unsupported_media).",
            ["model", "reason"],
            registry=registry,
        )
        self.queue_depth = Gauge(
            "inferwatch_collector_queue_depth",
            "Records accepted into the ingest queue and not yet committed.",
            registry=registry,
        )
        self.duplicate_summaries = Counter(
            "inferwatch_collector_duplicate_summaries",
            "Summaries sent again under an idempotency key already merged (recorder "
            "retries after a lost answer): acknowledged, not counted twice.",
            ["model"],
            registry=registry,
        )
        self.actuals = Counter(
            "inferwatch_collector_actuals",
            "Actuals received at POST .../outcomes, by result: matched (joined with their "
            "prediction), unknown_or_expired, already_labelled.",
            ["model", "result"],
            registry=registry,
        )
        self.windows_closed = Counter(
            "inferwatch_collector_windows_closed",
            "Windows closed (counted when the next window of the model opens).",
            ["model"],
            registry=registry,
        )
