"""The metrics every inferwatch service publishes about itself, on its own registry.

Kept apart from the HTTP app factory (``inferwatch.app``, FastAPI) so that the GPU
exporter's framework-free server (``inferwatch.exporters.gpu.server``) publishes the
same series under the same names on the lean install.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from inferwatch import __version__

QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes, every few seconds: their requests are logged at debug."""


class ServiceMetrics:
    """The service's own request, part and build metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.duration = Histogram(
            "inferwatch_http_request_duration_seconds",
            "Time to answer a request to an inferwatch service, by route template.",
            ["method", "route", "status"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.up = Gauge(
            "inferwatch_part_up",
            "1 when a part of this service started and reports ready.",
            ["part"],
            registry=registry,
        )
        self.build = Gauge(
            "inferwatch_build_info",
            "inferwatch version of this process.",
            ["version"],
            registry=registry,
        )
        self.build.labels(version=__version__).set(1)
        self.errors = Counter(
            "inferwatch_http_server_errors_total",
            "Requests answered with 5xx, by route template.",
            ["route"],
            registry=registry,
        )
