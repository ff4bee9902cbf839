"""The rules service against a real Prometheus and a real Alertmanager.

A small app publishes ``inferwatch_drift_dataset_detected`` (and the drifted-feature
count) from a registry the test controls; Prometheus scrapes it every second; the
rules service evaluates the shipped ``InferwatchDriftDetected`` rule (with ``for``
shortened to seconds) through Prometheus's query API and posts to Alertmanager.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from inferwatch.alerts.alertmanager import AlertmanagerClient
from inferwatch.alerts.rules._engine import build_engine
from inferwatch.alerts.rules.model import RuleGroup, default_rule_files, load_rule_files
from inferwatch.alerts.rules.service import RulesPart
from inferwatch.app import create_app
from inferwatch.parts import PartContext
from inferwatch.settings import load_settings
from inferwatch.stack import AlertmanagerProcess, PrometheusProcess, ServedApp

pytestmark = pytest.mark.stack

EXTERNAL_URL = "http://inferwatch.example:8686"
RESEND_DELAY = 5.0
"""Firing alerts are sent with endsAt = now + 4 x 5 s: an alert that leaves Alertmanager
sooner than that was resolved by us, not expired."""


def _fast_drift_group() -> RuleGroup:
    """The shipped drift rule, unchanged except for seconds instead of minutes."""
    shipped = next(g for g in load_rule_files(default_rule_files()) if g.name == "inferwatch-drift")
    rule = next(r for r in shipped.rules if r.name == "InferwatchDriftDetected")
    fast = replace(rule, hold_seconds=2.0, keep_firing_seconds=0.0)
    return replace(shipped, name="drift-fast", interval_seconds=0.5, rules=(fast,))


@dataclass
class Stack:
    detected: Gauge
    features: Gauge
    prometheus: PrometheusProcess
    alertmanager: AlertmanagerProcess
    rules: ServedApp
    am: AlertmanagerClient

    def rule_alerts(self) -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = httpx.get(f"{self.rules.url}/rules/alerts", timeout=5).json()
        return body

    def am_alerts(self) -> list[dict[str, Any]]:
        return self.am.get_alerts(['alertname="InferwatchDriftDetected"'])

    def metric(self, name: str, **labels: str) -> float:
        text = httpx.get(f"{self.rules.url}/metrics", timeout=5).text
        want = ",".join(f'{k}="{v}"' for k, v in labels.items())
        for line in text.splitlines():
            if line.startswith(f"{name}{{{want}}} ") or (
                not labels and line.startswith(name + " ")
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


def wait_until(check: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _metrics_app(registry: CollectorRegistry) -> FastAPI:
    """An app whose only route is the registry's exposition."""
    app = FastAPI()

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


@pytest.fixture
def stack(
    tmp_path: Path,
    serve: Callable[[Any], ServedApp],
    prometheus_factory: Callable[..., PrometheusProcess],
    alertmanager_factory: Callable[..., AlertmanagerProcess],
) -> Iterator[Stack]:
    registry = CollectorRegistry()
    detected = Gauge("inferwatch_drift_dataset_detected", "verdict", ["model"], registry=registry)
    features = Gauge(
        "inferwatch_drift_dataset_drifted_features", "count", ["model"], registry=registry
    )
    detected.labels("fraud").set(0)
    features.labels("fraud").set(0)
    exporter = serve(_metrics_app(registry))
    prometheus = prometheus_factory(scrape_targets=[f"127.0.0.1:{exporter.port}"])
    prometheus.wait_for("inferwatch_drift_dataset_detected")
    alertmanager = alertmanager_factory()
    settings = load_settings(
        data_dir=tmp_path / "data",
        alerts={
            "alertmanager_url": alertmanager.url,
            "rules": {
                "query_url": prometheus.url,
                "include_default_rules": False,
                "resend_delay_seconds": RESEND_DELAY,
                "external_url": EXTERNAL_URL,
                "external_labels": {"cluster": "test"},
                "alertmanager_timeout_seconds": 1,
                "alertmanager_retries": 0,
            },
        },
    )

    def build(context: PartContext) -> RulesPart:
        engine = build_engine(context.settings, context.registry, groups=[_fast_drift_group()])
        return RulesPart(context, engine=engine)

    rules = serve(create_app(settings, ["rules"], builders={"rules": build}))
    am = AlertmanagerClient(alertmanager.url)
    yield Stack(detected, features, prometheus, alertmanager, rules, am)
    am.close()


def _drift(stack: Stack, on: bool) -> None:
    stack.features.labels("fraud").set(3 if on else 0)
    stack.detected.labels("fraud").set(1 if on else 0)


def _assert_full_alert(alert: dict[str, Any], prometheus_url: str) -> None:
    assert alert["labels"] == {
        "alertname": "InferwatchDriftDetected",
        "model": "fraud",
        "severity": "warning",
        "action": "retrain",
        "cluster": "test",
    }
    annotations = alert["annotations"]
    assert annotations["summary"] == "Data drift detected for model fraud"
    assert "3 features drifted" in annotations["description"]
    assert annotations["runbook_url"].endswith("#inferwatchdriftdetected")
    assert annotations["report_url"] == f"{EXTERNAL_URL}/drift/models/fraud/report"
    assert alert["generatorURL"].startswith(f"{prometheus_url}/graph?g0.expr=max%20by%20%28model")
    assert alert["status"]["state"] == "active"


def test_alert_goes_pending_fires_reaches_alertmanager_and_resolves(stack: Stack) -> None:
    assert stack.rule_alerts() == []
    _drift(stack, True)

    pending = wait_until(
        lambda: [a for a in stack.rule_alerts() if a["state"] == "pending"], what="pending"
    )
    assert pending[0]["labels"]["model"] == "fraud"
    assert stack.am_alerts() == [], "a pending alert must not reach Alertmanager"

    firing = wait_until(
        lambda: [a for a in stack.rule_alerts() if a["state"] == "firing"], what="firing"
    )
    assert firing[0]["value"] == "3"
    delivered = wait_until(stack.am_alerts, what="alert in Alertmanager")
    assert len(delivered) == 1
    _assert_full_alert(delivered[0], stack.prometheus.url)
    assert (
        stack.metric("inferwatch_rules_alerts", alertname="InferwatchDriftDetected", state="firing")
        == 1
    )
    assert stack.metric("inferwatch_rules_notifications_total", outcome="sent") >= 1
    assert stack.metric("inferwatch_rules_evaluations_total", group="drift-fast") >= 4

    ends_at = datetime.fromisoformat(delivered[0]["endsAt"].replace("Z", "+00:00"))
    assert ends_at - datetime.now(UTC) > timedelta(seconds=3 * RESEND_DELAY)

    _drift(stack, False)
    wait_until(lambda: not stack.am_alerts(), timeout=RESEND_DELAY * 2, what="resolution")
    resolved = [a for a in stack.rule_alerts() if a["state"] == "inactive"]
    assert resolved and resolved[0]["resolved_at"] is not None


def test_alertmanager_restarted_and_down_mid_way_catches_up(stack: Stack) -> None:
    _drift(stack, True)
    wait_until(stack.am_alerts, what="alert in Alertmanager")

    # Restarted: Alertmanager keeps alerts in memory only; the re-send brings it back.
    stack.alertmanager.restart()
    _assert_full_alert(
        wait_until(stack.am_alerts, what="alert re-sent after restart")[0], stack.prometheus.url
    )

    # Down for a while: deliveries fail (and are counted), then catch up when it is back.
    stack.alertmanager.stop()
    failed_before = stack.metric("inferwatch_rules_notifications_total", outcome="failed")
    wait_until(
        lambda: (
            stack.metric("inferwatch_rules_notifications_total", outcome="failed") > failed_before
        ),
        what="failed delivery while Alertmanager is down",
    )
    down = httpx.get(f"{stack.rules.url}/rules/status", timeout=5).json()
    assert down["alertmanagers"][0]["last_error"]
    stack.alertmanager.start()
    _assert_full_alert(
        wait_until(stack.am_alerts, what="alert delivered after outage")[0], stack.prometheus.url
    )

    _drift(stack, False)
    wait_until(lambda: not stack.am_alerts(), timeout=RESEND_DELAY * 2, what="resolution")
    assert (
        httpx.get(f"{stack.rules.url}/rules/status", timeout=5).json()["alertmanagers"][0][
            "last_error"
        ]
        is None
    )
