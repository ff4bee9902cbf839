"""``inferwatch demo``: the whole chain on one machine, from traffic to a retraining webhook.

It starts every part in one process on embedded defaults (SQLite, in-process
windows, simulated GPUs when there is no driver), a synthetic model server under
load, and, when the binaries are installed, a real Prometheus and Alertmanager.
Then it creates the model's baseline, serves calm traffic, shifts it, and records
a timeline: drift detected, alert fired, retraining webhook delivered once.

The same ``DemoStack`` and story (``inferwatch.demo.story``) drive the end-to-end test,
so the demo is tested code.
"""

from __future__ import annotations

import io
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from inferwatch.demo.engine import ENGINE_MODEL, DemoEngine, prometheus_rule_files
from inferwatch.demo.labels import QUALITY_COLUMNS, LateLabels
from inferwatch.demo.synthetic import MODEL, labelled_reference, scored_traffic
from inferwatch.errors import InferwatchError
from inferwatch.settings import Settings, load_settings
from inferwatch.stack import (
    ALERTMANAGER_BINARIES,
    PROMETHEUS_BINARIES,
    AlertmanagerProcess,
    PrometheusProcess,
    ServedApp,
    free_port,
)

RECEIVER_TOKEN = "demo-alertmanager-token"
HOOK_SECRET = "demo-hook-secret"
DRIFT_RULE = "InferwatchDriftDetected"
QUALITY_RULE = "InferwatchModelPerformanceDegraded"
SCALE_RULE = "InferwatchDemoModelBusy"
QUEUE_RULE = "InferwatchDemoQueueBacklog"


class DemoError(InferwatchError):
    """A step of the demo did not happen in time."""


def stack_available() -> bool:
    """True when the Prometheus and Alertmanager binaries are on PATH."""
    return all(
        any(shutil.which(b) for b in names)
        for names in (PROMETHEUS_BINARIES, ALERTMANAGER_BINARIES)
    )


@dataclass
class Event:
    """One line of the timeline."""

    at: float
    what: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class DemoOptions:
    """Knobs of one demo run (the defaults take about a minute)."""

    workdir: Path
    use_stack: bool = True
    gpus: int = 2
    rows_per_request: int = 25
    requests_per_second: float = 20.0
    window_seconds: int = 4
    drift_interval_seconds: float = 1.0
    rule_for_seconds: int = 3
    cooldown_seconds: int = 3600
    xid_interval_seconds: float = 20.0
    port: int | None = None
    keep_running: bool = False
    """Everything stays up after the story, so links printed in the timeline stay alive."""


def demo_rules(for_seconds: int) -> dict[str, Any]:
    """The shipped drift and quality rules with demo-sized ``for``, plus load rules that
    ask to scale. The quality rule waits 20 s longer: in the data-drift story labels move
    with the features, and on a loaded machine the engine can judge accuracy degraded a
    round before its drift verdict; the drift alert's retraining must go first (the
    quality one is then cooled down)."""
    drift_rule = _shipped_rule("drift.yaml", DRIFT_RULE)
    drift_rule["for"] = f"{for_seconds}s"
    drift_rule["keep_firing_for"] = "30s"
    quality_rule = _shipped_rule("quality.yaml", QUALITY_RULE)
    quality_rule["for"] = f"{for_seconds + 20}s"
    quality_rule["keep_firing_for"] = "30s"
    busy_rule = {
        "alert": SCALE_RULE,
        "expr": "sum by (model) (rate(http_server_request_duration_seconds_count[20s])) > 5",
        "for": f"{for_seconds}s",
        "labels": {"severity": "info", "action": "scale", "model": "{{ $labels.model }}"},
        "annotations": {
            "summary": "Model {{ $labels.model }} serves {{ $value }} requests/s",
            "description": "Sustained load on {{ $labels.model }}; add a replica.",
            "runbook_url": "https://github.com/inferwatch/inferwatch/blob/main/docs/rules.md",
            "report_url": "{{ $externalURL }}/drift/models/{{ $labels.model }}/report",
        },
    }
    # The LLM engine's signal: requests waiting (the engine adapters' mapped name).
    queue_rule = {
        "alert": QUEUE_RULE,
        "expr": "max by (model) (inferwatch_inference_queued_requests) > 8",
        "for": f"{for_seconds}s",
        "labels": {"severity": "info", "action": "scale", "model": "{{ $labels.model }}"},
        "annotations": {
            "summary": "Model {{ $labels.model }} has {{ $value }} requests waiting",
            "description": "The engine's queue outgrows its replicas; add one.",
            "runbook_url": "https://github.com/inferwatch/inferwatch/blob/main/docs/llm-serving.md",
        },
    }
    rules = [drift_rule, quality_rule, busy_rule, queue_rule]
    return {"groups": [{"name": "inferwatch-demo", "interval": "1s", "rules": rules}]}


def _shipped_rule(file: str, alert: str) -> dict[str, Any]:
    from importlib.resources import files

    shipped = yaml.safe_load(files("inferwatch.alerts").joinpath(f"rules/{file}").read_text())
    return next(
        dict(rule)
        for group in shipped["groups"]
        for rule in group["rules"]
        if rule.get("alert") == alert
    )


def gpu_cost_rules(work: Path) -> list[Path]:
    """The shipped GPU cost recording rules at demo speed, and a price for the simulated GPUs."""
    from inferwatch.alerts.gpu_cost import cost_rule_file, render_price_rules

    rules = yaml.safe_load(cost_rule_file().read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
    (work / "gpu_cost.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    (work / "gpu_prices.yaml").write_text(render_price_rules({"NVIDIA H100 80GB HBM3": 4.0}))
    return [work / "gpu_cost.yaml", work / "gpu_prices.yaml"]


class DemoStack:
    """Everything the demo runs, started and stopped as one."""

    def __init__(self, options: DemoOptions, say: Callable[[str], None] = print) -> None:
        self.options = options
        self.say = say
        self.events: list[Event] = []
        self.t0 = time.monotonic()
        self._stop = threading.Event()
        self._load_thread: threading.Thread | None = None
        self.shift = 0.0
        self.concept = 0.0
        """How far fraud departs from the model's score (labels only)."""
        self.requests_sent = 0
        self.prometheus: PrometheusProcess | None = None
        self.alertmanager: AlertmanagerProcess | None = None
        self.service: ServedApp | None = None
        self.model_server: ServedApp | None = None
        self.engine: DemoEngine | None = None
        self._cleanups: list[Callable[[], None]] = []

    # -- timeline -------------------------------------------------------------------

    def mark(self, what: str, **detail: Any) -> Event:
        """Add an event to the timeline and say it."""
        event = Event(time.monotonic() - self.t0, what, detail)
        self.events.append(event)
        extra = ", ".join(f"{k}={v}" for k, v in detail.items())
        self.say(f"[{event.at:6.1f}s] {what}" + (f" ({extra})" if extra else ""))
        return event

    def event(self, what: str) -> Event | None:
        """The first event named ``what``."""
        return next((e for e in self.events if e.what == what), None)

    # -- start / stop ---------------------------------------------------------------

    def start(self) -> None:
        """Start the receivers, Prometheus/Alertmanager (if used), inferwatch and the model."""
        from inferwatch.testing.actions import FakeKubernetesApi, RecordingServer

        work = self.options.workdir
        work.mkdir(parents=True, exist_ok=True)
        self.retrain_hook = RecordingServer().start()
        self._cleanups.append(self.retrain_hook.stop)
        self.cluster = FakeKubernetesApi(
            replicas={f"{MODEL}-server": 1, f"{ENGINE_MODEL}-server": 1}
        )
        self.cluster.server.start()
        self._cleanups.append(self.cluster.server.stop)
        port = self.options.port or free_port()
        self._model_port = free_port()
        service_url = f"http://127.0.0.1:{port}"
        if self.options.use_stack:
            self.alertmanager = AlertmanagerProcess(
                alertmanager_config=self._alertmanager_config(service_url)
            )
            self.alertmanager.start()
            self._cleanups.append(self.alertmanager.cleanup)
            self.mark("alertmanager started", url=self.alertmanager.url)
        settings = self._settings(port)
        from inferwatch.app import create_app
        from inferwatch.parts import enabled_parts

        self.settings = settings
        if self.options.use_stack:
            self.engine = DemoEngine().start()
            self._cleanups.append(self.engine.stop)
            self.mark("llm engine started", engine="vllm (simulated)", model=ENGINE_MODEL)
            self.prometheus = PrometheusProcess(
                scrape_targets=[
                    f"127.0.0.1:{port}",
                    f"127.0.0.1:{self._model_port}",
                    self.engine.target,
                ],
                port=self._prometheus_port,
                rule_files=[*gpu_cost_rules(work), *prometheus_rule_files(work)],
                # the model server and its GPUs as one inference pod, as Kubernetes labels it
                target_labels={"namespace": "serving", "pod": f"{MODEL}-server-0"},
            )
            self.prometheus.start()
            self._cleanups.append(self.prometheus.cleanup)
            self.mark("prometheus started", url=self.prometheus.url)
        self.service = ServedApp(create_app(settings, enabled_parts(settings)), port=port).start()
        self._cleanups.append(self.service.stop)
        self.mark(
            "inferwatch started", url=self.service.url, parts=",".join(enabled_parts(settings))
        )

    def stop(self) -> None:
        """Stop the load and everything started; safe to call twice."""
        self._stop.set()
        if self._load_thread is not None:
            self._load_thread.join(timeout=10)
            self._load_thread = None
        while self._cleanups:
            cleanup = self._cleanups.pop()
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 -- keep stopping the rest
                self.say(f"warning: cleanup failed: {exc}")

    def _alertmanager_config(self, service_url: str) -> dict[str, Any]:
        return {
            "route": {
                "receiver": "null",
                "group_by": ["alertname", "model"],
                "group_wait": "1s",
                "group_interval": "2s",
                "repeat_interval": "1h",
                "routes": [
                    {"receiver": "inferwatch-actions", "matchers": ['action=~"retrain|scale"']}
                ],
            },
            "receivers": [
                {"name": "null"},
                {
                    "name": "inferwatch-actions",
                    "webhook_configs": [
                        {
                            "url": f"{service_url}/actions/alertmanager",
                            "send_resolved": True,
                            "http_config": {
                                "authorization": {"type": "Bearer", "credentials": RECEIVER_TOKEN}
                            },
                        }
                    ],
                },
            ],
        }

    def _settings(self, port: int) -> Settings:
        work = self.options.workdir
        secret = work / "hook-secret"
        secret.write_text(HOOK_SECRET)
        secret.chmod(0o600)
        policy = {
            "version": 1,
            "max_actions_per_hour": 20,
            "actions": {
                "retrain": {
                    "target": "retrain-hook",
                    "cooldown_seconds": self.options.cooldown_seconds,
                },
                "scale": {"target": "scale-up", "cooldown_seconds": self.options.cooldown_seconds},
            },
            "targets": {
                "retrain-hook": {
                    "type": "webhook",
                    "url": f"{self.retrain_hook.url}/retrain",
                    "secret_file": str(secret),
                },
                "scale-up": {
                    "type": "kubernetes_scale",
                    "api_url": self.cluster.server.url,
                    "namespace": "serving",
                    "deployment": "{model}-server",
                    "step": 1,
                    "min_replicas": 1,
                    "max_replicas": 4,
                },
            },
        }
        (work / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
        (work / "rules.yaml").write_text(
            yaml.safe_dump(demo_rules(self.options.rule_for_seconds), sort_keys=False)
        )
        self._prometheus_port = free_port()
        rules: dict[str, Any] = {"enabled": self.options.use_stack}
        if self.options.use_stack:
            rules.update(
                query_url=f"http://127.0.0.1:{self._prometheus_port}",
                rule_files=[str(work / "rules.yaml")],
                include_default_rules=False,
                evaluation_interval_seconds=1.0,
                resend_delay_seconds=1.0,
            )
        return load_settings(
            data_dir=work / "data",
            log_level="WARNING",
            server={"port": port, "public_url": f"http://127.0.0.1:{port}"},
            collector={"window_seconds": self.options.window_seconds},
            drift={"interval_seconds": self.options.drift_interval_seconds},
            exporters={
                "gpu": {
                    "simulate": self.options.gpus,
                    "simulate_xid_interval_seconds": self.options.xid_interval_seconds,
                }
            },
            alerts={
                "alertmanager_url": self.alertmanager.url if self.alertmanager else None,
                "rules": rules,
                "actions": {
                    "policy_file": str(work / "policy.yaml"),
                    "bearer_token": RECEIVER_TOKEN,
                },
            },
        )

    # -- the story ------------------------------------------------------------------

    def create_baseline(self, rows: int = 20_000) -> dict[str, Any]:
        """Upload reference traffic as the model's baseline through the drift API."""
        assert self.service is not None
        reference = labelled_reference(rows, seed=1)
        body = io.StringIO()
        reference.to_csv(body, index=False)
        answer = httpx.post(
            f"{self.service.url}/drift/baselines/{MODEL}",
            params=QUALITY_COLUMNS,
            content=body.getvalue().encode(),
            headers={"Content-Type": "text/csv"},
            timeout=60,
        )
        if answer.status_code >= 300:
            raise DemoError(f"baseline upload answered {answer.status_code}: {answer.text}")
        created: dict[str, Any] = answer.json()
        self.mark("baseline created", model=MODEL, version=created.get("version"), rows=rows)
        return created

    def start_model_server(self) -> None:
        """The synthetic fraud model, instrumented, recording predictions into inferwatch."""
        from inferwatch.demo.model import build_model_server

        assert self.service is not None
        app = build_model_server(self.service.url)
        self.model_server = ServedApp(app, port=self._model_port).start()
        self._cleanups.append(self.model_server.stop)
        self.mark("model server started", url=self.model_server.url, model=MODEL)

    def start_load(self) -> None:
        """Send traffic in the background until ``stop`` (its drift follows ``self.shift``)."""
        assert self.model_server is not None
        url = self.model_server.url
        period = 1.0 / self.options.requests_per_second

        assert self.service is not None
        labels = LateLabels(f"{self.service.url}/collector/models/{MODEL}/outcomes")

        def run() -> None:
            seed = 100
            with httpx.Client(timeout=10) as client:
                while not self._stop.is_set():
                    started = time.monotonic()
                    frame = scored_traffic(
                        self.options.rows_per_request, shift=self.shift, seed=seed
                    )
                    seed += 1
                    features = frame.drop(columns=["prediction"])
                    rows = (
                        features.astype(object)
                        .where(features.notna(), None)
                        .to_dict(orient="records")
                    )
                    try:
                        answer = client.post(f"{url}/predict", json={"instances": rows})
                        scores = answer.json()["predictions"]
                        labels.predicted(client, scores, self.concept, seed)
                        labels.send_due(client)
                        if seed % 10 == 0:
                            client.post(
                                f"{url}/generate", json={"prompt": "hello " * 8, "max_tokens": 12}
                            )
                        self.requests_sent += 1
                    except httpx.HTTPError:
                        pass
                    self._stop.wait(max(0.0, period - (time.monotonic() - started)))

        self._load_thread = threading.Thread(target=run, name="demo-load", daemon=True)
        self._load_thread.start()
        self.mark("traffic started", requests_per_second=self.options.requests_per_second)

    def drift_shift(self, shift: float = 1.0) -> Event:
        """Change the traffic the way an upstream change would (and who commits fraud)."""
        self.shift = shift
        self.concept = shift
        return self.mark("traffic shifted", shift=shift)

    def concept_shift(self, shift: float = 1.0) -> Event:
        """Change who commits fraud, not the traffic: the features look as before."""
        self.concept = shift
        return self.mark("fraud pattern changed", shift=shift)

    def wait_for(self, what: str, check: Callable[[], Any], timeout: float) -> Any:
        """Poll ``check`` until it returns something truthy; record it as ``what``."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                value = check()
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                last_error = exc
                value = None
            if value:
                return value
            time.sleep(0.25)
        raise DemoError(
            f"{what}: not seen within {timeout:.0f}s"
            + (f" (last error: {last_error})" if last_error else "")
        )

    # -- observations ---------------------------------------------------------------

    def latest_drift(self) -> dict[str, Any] | None:
        """The drift engine's latest evaluation of the model, or None."""
        assert self.service is not None
        answer = httpx.get(f"{self.service.url}/drift/models/{MODEL}/results/latest", timeout=10)
        if answer.status_code != 200:
            return None
        result: dict[str, Any] = answer.json()
        return result

    def firing_alerts(self, alertname: str) -> list[dict[str, Any]]:
        """Alerts named ``alertname`` active in Alertmanager."""
        from inferwatch.alerts.alertmanager import AlertmanagerClient

        if self.alertmanager is None:
            return []
        client = AlertmanagerClient(self.alertmanager.url)
        try:
            return client.get_alerts([f'alertname="{alertname}"'])
        finally:
            client.close()

    def retrain_calls(self) -> list[Any]:
        """Calls the local retraining receiver answered successfully."""
        return list(self.retrain_hook.successes())

    def promql(self, expr: str) -> float | None:
        """One scalar from Prometheus, or None."""
        if self.prometheus is None:
            return None
        result = self.prometheus.query(expr)
        return float(result[0]["value"][1]) if result else None


@contextmanager
def running(options: DemoOptions, say: Callable[[str], None] = print) -> Iterator[DemoStack]:
    """A started ``DemoStack`` that is stopped however the block ends."""
    stack = DemoStack(options, say)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
