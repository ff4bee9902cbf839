"""Loopback stand-ins for the outermost boundaries of actions: CI providers and Kubernetes.

Real HTTP on 127.0.0.1, so the project's own clients (httpx, the official
``kubernetes`` client) run whole. ``RecordingServer`` records every request and
answers with a scripted ``Responder``; ``FakeKubernetesApi`` speaks the
autoscaling/v2 HPA and apps/v1 ``deployments/scale`` shapes on top of it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from inferwatch.settings import Settings, load_settings


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """What to answer: status, JSON body, and an optional delay before answering."""

    status: int = 200
    body: Any = None
    delay: float = 0.0


Responder = Callable[[Recorded], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


@dataclass
class RecordingServer:
    """A loopback HTTP server that records requests and answers through ``responder``."""

    responder: Responder = field(default=lambda _: Reply(204))
    requests: list[Recorded] = field(default_factory=list)
    answered: list[tuple[Recorded, int]] = field(default_factory=list)
    """Requests the server finished handling, with the status it answered (even when the
    client had already given up: a target may act on a request whose answer was lost)."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Recorded(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                with outer._lock:
                    outer.requests.append(request)
                reply = outer.responder(request)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                with outer._lock:
                    outer.answered.append((request, reply.status))
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (timed out); the reply still counts
                    self.close_connection = True

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle  # noqa: N815

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RecordingServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; idempotent."""
        if self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread = None

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def successes(self) -> list[Recorded]:
        """Requests answered with 2xx."""
        with self._lock:
            return [r for r, status in self.answered if 200 <= status < 300]


_HPA_PATH = re.compile(
    r"^/apis/autoscaling/v2/namespaces/([^/]+)/horizontalpodautoscalers(?:/([^/?]+))?"
)
_SCALE_PATH = re.compile(r"^/apis/apps/v1/namespaces/([^/]+)/deployments/([^/?]+)/scale")


@dataclass
class FakeKubernetesApi:
    """HPAs (autoscaling/v2) and Deployment scales (apps/v1) in memory, served over HTTP."""

    hpas: dict[str, dict[str, Any]] = field(default_factory=dict)
    """name -> HPA object (``metadata``, ``spec``), in namespace ``namespace``."""
    replicas: dict[str, int] = field(default_factory=dict)
    """deployment name -> replicas."""
    namespace: str = "serving"
    server: RecordingServer = field(init=False)

    def __post_init__(self) -> None:
        self.server = RecordingServer(self._respond)

    def _respond(self, request: Recorded) -> Reply:
        path = request.path.split("?")[0]
        if m := _HPA_PATH.match(path):
            if m.group(1) != self.namespace:
                return _status(404, "namespace not found")
            return self._hpa(request, m.group(2))
        if m := _SCALE_PATH.match(path):
            if m.group(1) != self.namespace or m.group(2) not in self.replicas:
                return _status(404, f"deployments.apps {m.group(2)!r} not found")
            return self._scale(request, m.group(2))
        return _status(404, f"no route {path}")

    def _hpa(self, request: Recorded, name: str | None) -> Reply:
        if name is None and request.method == "GET":
            return Reply(
                200,
                {
                    "apiVersion": "autoscaling/v2",
                    "kind": "HorizontalPodAutoscalerList",
                    "metadata": {"resourceVersion": "1"},
                    "items": [_hpa_object(h, self.namespace) for h in self.hpas.values()],
                },
            )
        if name is None or name not in self.hpas:
            return _status(404, f"horizontalpodautoscalers {name!r} not found")
        if request.method == "PATCH":
            if request.headers.get("content-type") != "application/merge-patch+json":
                return _status(415, "expected a merge patch")
            spec = request.json().get("spec", {})
            self.hpas[name]["spec"].update(spec)
        return Reply(200, _hpa_object(self.hpas[name], self.namespace))

    def _scale(self, request: Recorded, name: str) -> Reply:
        if request.method == "PATCH":
            if request.headers.get("content-type") != "application/merge-patch+json":
                return _status(415, "expected a merge patch")
            self.replicas[name] = int(request.json()["spec"]["replicas"])
        return Reply(
            200,
            {
                "apiVersion": "autoscaling/v1",
                "kind": "Scale",
                "metadata": {"name": name, "namespace": self.namespace},
                "spec": {"replicas": self.replicas[name]},
                "status": {"replicas": self.replicas[name]},
            },
        )

    def patches(self) -> list[Recorded]:
        """The PATCH requests received."""
        return [r for r in self.server.requests if r.method == "PATCH"]


def hpa(
    name: str,
    deployment: str,
    *,
    min_replicas: int = 1,
    max_replicas: int = 10,
    labels: dict[str, str] | None = None,
    owner_references: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An HPA object for ``FakeKubernetesApi.hpas``."""
    metadata: dict[str, Any] = {"name": name, "labels": labels or {}}
    if owner_references:
        metadata["ownerReferences"] = owner_references
    return {
        "metadata": metadata,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
        },
    }


def _hpa_object(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {**obj["metadata"], "namespace": namespace},
        "spec": obj["spec"],
    }


def _status(code: int, message: str) -> Reply:
    return Reply(
        code,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": message,
            "code": code,
        },
    )


def webhook_message(
    alerts: list[dict[str, Any]], *, status: str = "firing", version: str = "4"
) -> dict[str, Any]:
    """A version-4 webhook body around ``alerts`` (see ``webhook_alert``)."""
    return {
        "version": version,
        "groupKey": '{}:{alertname="ModelDrift"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "inferwatch-actions",
        "groupLabels": {"alertname": "ModelDrift"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": alerts,
    }


def webhook_alert(
    model: str = "fraud",
    action: str = "retrain",
    *,
    fingerprint: str | None = None,
    starts_at: datetime | None = None,
    status: str = "firing",
) -> dict[str, Any]:
    """One alert as Alertmanager puts it in a webhook body."""
    start = starts_at or datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "status": status,
        "labels": {
            "alertname": "ModelDrift",
            "severity": "warning",
            "model": model,
            "action": action,
        },
        "annotations": {
            "summary": f"{model} drifted",
            "description": "3 of 10 features drifted",
            "report_url": f"http://inferwatch.example/drift/models/{model}/report",
        },
        "startsAt": start.isoformat().replace("+00:00", "Z"),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": fingerprint or f"{abs(hash((model, action))):016x}"[:16],
    }


def settings_with_policy(data_dir: Path, policy: dict[str, Any], **actions: Any) -> Settings:
    """Settings whose actions part runs ``policy`` (written next to ``data_dir``) fast."""
    data_dir.mkdir(parents=True, exist_ok=True)
    policy_file = data_dir / "policy.yaml"
    policy_file.write_text(yaml.safe_dump(policy))
    fast = {
        "policy_file": str(policy_file),
        "backoff_initial_seconds": 0.05,
        "backoff_max_seconds": 0.2,
        "poll_interval_seconds": 0.05,
        "request_timeout_seconds": 1.0,
        "lease_seconds": 5.0,
    }
    return load_settings(data_dir=data_dir, alerts={"actions": {**fast, **actions}})


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Poll ``predicate`` until true; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
