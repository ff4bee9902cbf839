"""Concept drift: the features look as before, fraud does not; late labels trigger retraining.

The demo's stack (every part in one service, real Prometheus and Alertmanager, the
actions receiver calling a loopback CI webhook) with the fraud model's labels arriving
two seconds after its predictions. Only who commits fraud changes: no feature drifts,
the realized accuracy drops, the shipped InferwatchModelPerformanceDegraded rule fires
and the retraining webhook is called exactly once, naming the metric.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from inferwatch.demo.chain import DRIFT_RULE, QUALITY_RULE, DemoOptions, DemoStack
from inferwatch.demo.synthetic import MODEL

pytestmark = [pytest.mark.stack, pytest.mark.slow]


def _newest_realized(stack: DemoStack, metric: str) -> dict[str, Any] | None:
    assert stack.service is not None
    answer = httpx.get(f"{stack.service.url}/drift/models/{MODEL}/quality", timeout=10)
    for result in answer.json().get("results", []):
        if result["metric"] == metric and result["kind"] == "realized":
            return dict(result)
    return None


def test_a_changed_fraud_pattern_retrains_once_through_the_quality_alert(tmp_path: Path) -> None:
    lines: list[str] = []
    stack = DemoStack(DemoOptions(workdir=tmp_path, use_stack=True), say=lines.append)
    try:
        stack.start()
        assert stack.alertmanager is not None, "scripts/setup.sh installs Alertmanager"
        stack.create_baseline()
        stack.start_model_server()
        stack.start_load()
        calm = stack.wait_for(
            "calm accuracy realized",
            lambda: (r := _newest_realized(stack, "accuracy")) and r["verdict"] == "ok" and r,
            120,
        )
        stack.concept_shift(1.0)
        stack.wait_for("quality alert", lambda: stack.firing_alerts(QUALITY_RULE), 120)
        stack.wait_for("retraining webhook", stack.retrain_calls, 120)
        time.sleep(5)  # Alertmanager's re-sends and the other degraded metrics arrive now
        calls = stack.retrain_calls()
        print("\n".join(lines))
        assert len(calls) == 1, [c.json() for c in calls]
        body = calls[0].json()
        labels = body["alert"]["labels"]
        assert labels["alertname"] == QUALITY_RULE and labels["model"] == MODEL
        assert labels["metric"] in {"accuracy", "precision", "recall", "f1", "roc_auc"}
        assert labels["kind"] in {"realized", "estimated"}
        assert body["report_url"].endswith(f"/drift/models/{MODEL}/quality")
        assert httpx.get(body["report_url"], timeout=10).status_code == 200
        dropped = _newest_realized(stack, "accuracy")
        assert dropped is not None and dropped["value"] < calm["value"]
        assert stack.firing_alerts(DRIFT_RULE) == []  # no feature moved
    finally:
        stack.stop()
