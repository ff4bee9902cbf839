"""``inferwatch exporter serve``: the GPU exporter as its own process, with no web framework.

The exporter runs as a sidecar in model pods, which install the lean client
(``pip install inferwatch``: no FastAPI, uvicorn or state store). So it serves its three
routes the way ``prometheus_client.start_http_server`` does, a WSGI app on the standard
library's threading HTTP server, answering as every inferwatch service does:

- ``GET /metrics``: the exposition (prometheus_client's own WSGI app: content
  negotiation, gzip, ``name[]`` filters), with the GPU collector and the service's own
  series (``inferwatch_part_up``, ``inferwatch_build_info``, request durations);
- ``GET /healthz``: ``{"status": "ok"}``;
- ``GET /readyz``: 200 ``{"status": "ready", "parts": ["gpu-exporter"]}``, or 503 with
  ``reasons`` while starting or stopping, or while no GPU is found and
  ``exporters.gpu.require_gpu`` is set;
- anything else 404, another method 405; with ``server.api_token`` set, a path outside
  ``server.open_paths`` needs the read or write token (``inferwatch.access.ReadPolicy``).

No route takes a body, so none is read. ``inferwatch up`` still runs the exporter as a
part of the full service (``inferwatch.exporters.service``).
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from types import FrameType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from prometheus_client import CollectorRegistry, make_wsgi_app

from inferwatch.access import UNAUTHORIZED_BODY, ReadPolicy
from inferwatch.exporters.gpu.exporter import GpuExporterHandle, start_in_process
from inferwatch.httputil import UNMATCHED_ROUTE
from inferwatch.service_metrics import QUIET_ROUTES, ServiceMetrics
from inferwatch.settings import Settings

log = logging.getLogger("inferwatch.http")
PART = "gpu-exporter"
StartResponse = Callable[..., Any]
Environ = dict[str, Any]
_JSON = ("Content-Type", "application/json")


class ExporterApp:
    """The WSGI app: the exporter's routes, its readiness and its own metrics."""

    def __init__(
        self,
        settings: Settings,
        *,
        registry: CollectorRegistry | None = None,
        start: Callable[..., GpuExporterHandle] = start_in_process,
    ) -> None:
        self.settings = settings
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = ServiceMetrics(self.registry)
        self.policy = ReadPolicy(settings.server)
        self.handle: GpuExporterHandle | None = None
        self._start = start
        self._exposition = make_wsgi_app(registry=self.registry)
        self._routes: dict[str, Callable[[Environ, StartResponse], Iterable[bytes]]] = {
            "/metrics": self._exposition,
            "/healthz": self._healthz,
            "/readyz": self._readyz,
        }

    def start(self) -> None:
        """Start the exporter on the registry (the first GPU pass runs before this returns)."""
        if self.handle is None:
            self.handle = self._start(self.registry, self.settings.exporters.gpu)
            self.metrics.up.labels(part=PART).set(1)
            log.info("service started", extra={"fields": {"parts": [PART]}})

    def stop(self) -> None:
        """Stop the exporter; idempotent."""
        handle, self.handle = self.handle, None
        if handle is not None:
            handle.stop()
            self.metrics.up.labels(part=PART).set(0)

    def ready_reasons(self) -> dict[str, str]:
        """Why the service is not ready, by part; empty when it is."""
        if self.handle is None:
            return {"service": "starting or stopping"}
        reason = self.handle.ready_reason(self.settings.exporters.gpu.require_gpu)
        return {PART: reason} if reason else {}

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        began = time.perf_counter()
        path = str(environ.get("PATH_INFO") or "/")
        method = str(environ.get("REQUEST_METHOD") or "GET")
        route = path if path in self._routes else UNMATCHED_ROUTE
        status = [500]

        def recording(line: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            status[0] = int(line.split(" ", 1)[0])
            return start_response(line, headers, *rest)

        try:
            yield from self._dispatch(environ, recording, path, method)
        finally:
            self._record(method, route, status[0], time.perf_counter() - began)

    def _dispatch(
        self, environ: Environ, start_response: StartResponse, path: str, method: str
    ) -> Iterator[bytes]:
        if not self.policy.allows(path, _bearer(environ.get("HTTP_AUTHORIZATION"))):
            start_response(
                "401 Unauthorized",
                [_JSON, ("WWW-Authenticate", "Bearer"), _length(UNAUTHORIZED_BODY)],
            )
            yield UNAUTHORIZED_BODY
            return
        endpoint = self._routes.get(path)
        if endpoint is None:
            yield from _json(start_response, "404 Not Found", {"detail": "Not Found"})
            return
        if method != "GET":
            body = {"detail": "Method Not Allowed"}
            yield from _json(start_response, "405 Method Not Allowed", body, [("Allow", "GET")])
            return
        yield from endpoint(environ, start_response)

    def _healthz(self, _environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        return _json(start_response, "200 OK", {"status": "ok"})

    def _readyz(self, _environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        reasons = self.ready_reasons()
        if reasons:
            body: dict[str, object] = {"status": "not ready", "reasons": reasons}
            return _json(start_response, "503 Service Unavailable", body)
        return _json(start_response, "200 OK", {"status": "ready", "parts": [PART]})

    def _record(self, method: str, route: str, status: int, elapsed: float) -> None:
        self.metrics.duration.labels(method, route, str(status)).observe(elapsed)
        if status >= 500:
            self.metrics.errors.labels(route).inc()
        log.log(
            logging.DEBUG if route in QUIET_ROUTES else logging.INFO,
            "request",
            extra={
                "fields": {
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_s": round(elapsed, 6),
                }
            },
        )


def _bearer(header: object) -> str | None:
    scheme, _, credential = str(header or "").partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else None


def _length(body: bytes) -> tuple[str, str]:
    return ("Content-Length", str(len(body)))


def _json(
    start_response: StartResponse,
    status: str,
    data: object,
    headers: Iterable[tuple[str, str]] = (),
) -> Iterator[bytes]:
    body = json.dumps(data, separators=(",", ":")).encode()
    start_response(status, [_JSON, _length(body), *headers])
    yield body


class _Server(ThreadingMixIn, WSGIServer):
    """One thread per request, as ``prometheus_client.start_http_server``."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """Requests are logged by ``ExporterApp`` (probes at debug), not on stderr here."""

    timeout = 10.0
    """Seconds a connection may stay silent before it is closed (a slow client holds a
    thread; prometheus_client's own server waits forever)."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


def make_server(app: ExporterApp, sock: socket.socket) -> WSGIServer:
    """A threading WSGI server answering on the already listening ``sock``."""
    server = _Server(sock.getsockname()[:2], _QuietHandler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.server_name, server.server_port = sock.getsockname()[:2]
    server.setup_environ()
    server.set_app(app)
    return server


def serve(settings: Settings, sock: socket.socket, *, stop: threading.Event | None = None) -> None:
    """Start the exporter, answer on ``sock`` until SIGTERM/SIGINT (or ``stop``), then stop.

    ``sock`` is bound and listening (``inferwatch.cli_support.bind``), so a taken port
    was already reported before the GPUs are touched.
    """
    app = ExporterApp(settings)
    server = make_server(app, sock)
    stop = stop or threading.Event()
    previous = _on_signals(stop)
    try:
        app.start()
        thread = threading.Thread(target=server.serve_forever, name="inferwatch-http", daemon=True)
        thread.start()
        stop.wait()
        log.info("service stopping", extra={"fields": {"parts": [PART]}})
        server.shutdown()
        thread.join()
    finally:
        app.stop()
        server.server_close()
        _restore(previous)


def _on_signals(stop: threading.Event) -> dict[int, Any]:
    """Set ``stop`` on SIGTERM and SIGINT (main thread only); the handlers it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}


def _restore(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
