"""Helpers for testing code that uses the instrumentation (ours and a model server's).

- ``ManualClock``: a clock to pass as ``instrument(clock=...)`` so spans need no sleeps.
- ``samples(registry, name)``: the exposed samples of one metric, as Prometheus shows them.
- ``OtlpReceiver``: a loopback OTLP/HTTP metrics endpoint that decodes what it receives
  with ``opentelemetry-proto`` (a dev dependency).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families


class ManualClock:
    """A ``perf_counter`` stand-in that only moves when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


@dataclass(frozen=True)
class Sample:
    """One exposed sample: full name (with ``_bucket``/``_count``/...), labels, value."""

    name: str
    labels: dict[str, str]
    value: float


def samples(registry: CollectorRegistry, name: str) -> list[Sample]:
    """Samples whose name starts with ``name``, parsed from the exposition text."""
    text = generate_latest(registry).decode()
    return [
        Sample(s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith(name)
    ]


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    """The value of the one sample named ``name`` whose labels include ``labels``."""
    found = [
        s
        for s in samples(registry, name)
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    if len(found) > 1:
        raise AssertionError(f"{len(found)} samples of {name} match {labels}: {found}")
    return found[0].value if found else None


@dataclass
class OtlpReceiver:
    """A loopback HTTP server taking OTLP metrics pushes (``POST /v1/metrics``)."""

    requests: list[Any] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _received: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the receiver first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1/metrics"

    def start(self) -> OtlpReceiver:
        """Listen on a free loopback port in a daemon thread."""
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceRequest,
            ExportMetricsServiceResponse,
        )

        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                message = ExportMetricsServiceRequest()
                message.ParseFromString(body)
                receiver.requests.append(message)
                receiver.paths.append(self.path)
                receiver._received.set()
                reply = ExportMetricsServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def wait(self, timeout: float = 10.0) -> bool:
        """True once at least one push arrived."""
        return self._received.wait(timeout)

    def metric_names(self) -> set[str]:
        """Names of every metric in every push so far."""
        return {
            metric.name
            for request in self.requests
            for rm in request.resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
        }

    def stop(self) -> None:
        """Shut the server down; idempotent."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
