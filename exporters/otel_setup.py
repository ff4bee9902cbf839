"""Wire the OpenTelemetry metrics SDK once: readers, exporters and bucket views.

Instrumented code only touches the OTel API (a ``MeterProvider``); this module is the one
place that knows about the SDK. It builds a provider with a ``PrometheusMetricReader`` on
an injected ``prometheus_client`` registry and, when an endpoint is set, an OTLP/HTTP push
reader, both at once. The provider is returned, never set as the process-global one, so
tests and multi-app processes each own theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import (
    AlwaysOffExemplarFilter,
    MeterProvider,
    TraceBasedExemplarFilter,
)
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from prometheus_client import CollectorRegistry

from inferwatch.exporters.instrumentation import names
from inferwatch.exporters.instrumentation.settings import InstrumentationSettings


@dataclass(frozen=True)
class MetricsPipeline:
    """The SDK objects one set-up built; ``shutdown()`` flushes and detaches them."""

    meter_provider: MeterProvider
    prometheus_reader: PrometheusMetricReader | None
    otlp_reader: PeriodicExportingMetricReader | None

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Push pending OTLP data now; True when there is no OTLP reader.

        Only the OTLP reader is flushed: ``MeterProvider.force_flush`` would also make
        the Prometheus reader queue a collection that the next scrape then emits twice
        (duplicate samples, which Prometheus rejects).
        """
        if self.otlp_reader is None:
            return True
        return self.otlp_reader.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Flush OTLP, unregister from the Prometheus registry; safe to call twice."""
        self.meter_provider.shutdown()


def bucket_views(settings: InstrumentationSettings) -> list[View]:
    """One explicit-bucket view per histogram, boundaries from settings."""
    by_name: dict[str, Sequence[float]] = {
        names.HTTP_DURATION: settings.latency_buckets_s,
        names.INFERENCE_DURATION: settings.latency_buckets_s,
        names.QUEUE_DURATION: settings.latency_buckets_s,
        names.GEN_AI_REQUEST_DURATION: settings.latency_buckets_s,
        names.TIME_TO_FIRST_TOKEN: settings.latency_buckets_s,
        names.TIME_PER_OUTPUT_TOKEN: settings.token_latency_buckets_s,
        names.TOKEN_USAGE: settings.token_buckets,
        names.BATCH_SIZE: settings.batch_size_buckets,
        names.HTTP_REQUEST_BODY_SIZE: settings.size_buckets_bytes,
        names.HTTP_RESPONSE_BODY_SIZE: settings.size_buckets_bytes,
        names.INFERENCE_PAYLOAD_SIZE: settings.size_buckets_bytes,
    }
    return [
        View(
            instrument_name=name,
            aggregation=ExplicitBucketHistogramAggregation(boundaries=tuple(bounds)),
        )
        for name, bounds in by_name.items()
    ]


def build_pipeline(
    settings: InstrumentationSettings,
    registry: CollectorRegistry | None,
    *,
    resource: Resource | None = None,
    extra_readers: Sequence[MetricReader] = (),
) -> MetricsPipeline:
    """Build a ``MeterProvider`` with the readers the settings ask for.

    ``registry`` receives the Prometheus reader's collector (pass None, or set
    ``settings.prometheus`` false, for no Prometheus exposition). ``extra_readers``
    lets tests add an ``InMemoryMetricReader``.

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> pipeline = build_pipeline(InstrumentationSettings(), CollectorRegistry())
        >>> pipeline.otlp_reader is None
        True
        >>> pipeline.shutdown()
    """
    readers: list[MetricReader] = list(extra_readers)
    prometheus_reader = None
    if settings.prometheus and registry is not None:
        prometheus_reader = PrometheusMetricReader(
            disable_target_info=not settings.target_info,
            scope_info_enabled=settings.scope_labels,
            registry=registry,
        )
        readers.append(prometheus_reader)
    otlp_reader = None
    if settings.otlp_endpoint is not None:
        exporter = OTLPMetricExporter(
            endpoint=str(settings.otlp_endpoint),
            headers=dict(settings.otlp_headers),
            timeout=settings.otlp_timeout_s,
        )
        otlp_reader = PeriodicExportingMetricReader(
            exporter,
            export_interval_millis=settings.otlp_interval_s * 1000,
            export_timeout_millis=settings.otlp_timeout_s * 1000,
        )
        readers.append(otlp_reader)
    resource = resource or Resource.create({SERVICE_NAME: settings.service_name})
    exemplar_filter = (
        TraceBasedExemplarFilter() if settings.exemplars else AlwaysOffExemplarFilter()
    )
    provider = MeterProvider(
        metric_readers=readers,
        resource=resource,
        views=bucket_views(settings),
        exemplar_filter=exemplar_filter,
    )
    return MetricsPipeline(provider, prometheus_reader, otlp_reader)
