"""Scale alerts without a model label (GPU, engine) act on the Deployment their labels name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from inferwatch.alerts.actions.targets import workload
from inferwatch.alerts.rules.model import default_rule_files, load_rule_files
from inferwatch.app import create_app
from inferwatch.stack import ServedApp
from inferwatch.testing.actions import (
    FakeKubernetesApi,
    settings_with_policy,
    wait_until,
    webhook_message,
)

Serve = Callable[[Any], ServedApp]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PROMTOOL_TESTS = sorted((Path(__file__).parent / "promtool").glob("*.yaml"))


def _shipped_rule(name: str) -> dict[str, str]:
    rule = next(r for g in load_rule_files(default_rule_files()) for r in g.rules if r.name == name)
    return dict(rule.labels)


def gpu_saturation_alert(starts_at: datetime) -> dict[str, Any]:
    """InferwatchGpuSaturated as Prometheus fires it for a GPU mapped to a pod (no model)."""
    labels = {
        **{k: v for k, v in _shipped_rule("InferwatchGpuSaturated").items() if "{{" not in v},
        "alertname": "InferwatchGpuSaturated",
        "gpu": "0",
        "uuid": "GPU-aaa",
        "instance": "node1:9400",
        "namespace": "serving",
        "pod": "llama-7d9c6b5f4-x2x4z",
    }
    return {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": "GPU 0 is saturated", "description": "busy", "runbook_url": ""},
        "startsAt": starts_at.isoformat().replace("+00:00", "Z"),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example/graph",
        "fingerprint": f"{abs(hash(starts_at)):016x}"[:16],
    }


def test_a_gpu_saturation_alert_leads_to_one_scale_patch(tmp_path: Path, serve: Serve) -> None:
    assert _shipped_rule("InferwatchGpuSaturated")["action"] == "scale"
    k8s = FakeKubernetesApi(replicas={"llama": 1})
    policy = {
        "version": 1,
        "actions": {"scale": {"target": "k8s", "cooldown_seconds": 600}},
        "targets": {
            "k8s": {
                "type": "kubernetes_scale",
                "api_url": k8s.server.url,
                "namespace": "serving",
                "max_replicas": 4,
            }
        },
    }
    with k8s.server:
        served = serve(create_app(settings_with_policy(tmp_path / "d", policy), ["actions"]))
        http = httpx.Client(base_url=served.url, timeout=10)

        def post(alert: dict[str, Any]) -> None:
            answer = http.post("/actions/alertmanager", json=webhook_message([alert]))
            assert answer.status_code == 200, answer.text

        def outcomes() -> list[str]:
            entries = http.get("/actions/audit", params={"limit": 100}).json()["entries"]
            return sorted(e["outcome"] for e in entries)

        first = gpu_saturation_alert(T0)
        post(first)
        wait_until(lambda: bool(k8s.patches()), what="scale patch")
        post(first)  # Alertmanager's re-send of the same episode
        post(gpu_saturation_alert(T0 + timedelta(minutes=3)))  # a new episode, in cooldown
        wait_until(lambda: "cooled_down" in outcomes(), what="cooldown")
    (patch,) = k8s.patches()
    assert patch.path == "/apis/apps/v1/namespaces/serving/deployments/llama/scale"
    assert k8s.replicas["llama"] == 2
    assert outcomes().count("deduplicated") == 1


def test_a_workload_in_another_namespace_is_refused(tmp_path: Path, serve: Serve) -> None:
    k8s = FakeKubernetesApi(replicas={"llama": 1})
    policy = {
        "version": 1,
        "actions": {"scale": {"target": "k8s", "cooldown_seconds": 0}},
        "targets": {
            "k8s": {
                "type": "kubernetes_scale",
                "api_url": k8s.server.url,
                "namespace": "serving",
                "max_replicas": 4,
            }
        },
    }
    alert = gpu_saturation_alert(T0)
    alert["labels"]["namespace"] = "other"
    with k8s.server:
        served = serve(create_app(settings_with_policy(tmp_path / "d", policy), ["actions"]))
        http = httpx.Client(base_url=served.url, timeout=10)
        http.post("/actions/alertmanager", json=webhook_message([alert]))

        def ignored() -> list[dict[str, Any]]:
            entries: list[dict[str, Any]] = http.get(
                "/actions/audit", params={"outcome": "ignored"}
            ).json()["entries"]
            return entries

        wait_until(lambda: bool(ignored()), what="refusal")
        (entry,) = ignored()
    assert k8s.patches() == []
    assert "scales in namespace serving only" in entry["detail"]


@pytest.mark.parametrize("path", PROMTOOL_TESTS, ids=lambda p: p.name)
def test_every_shipped_scale_alert_carries_labels_to_act(path: Path) -> None:
    """Each firing case of a shipped ``action: scale`` rule names a model or a workload."""
    scale_rules = {
        r.name
        for g in load_rule_files(default_rule_files())
        for r in g.rules
        if r.labels.get("action") == "scale"
    }
    for test in yaml.safe_load(path.read_text())["tests"]:
        for case in test.get("alert_rule_test", []):
            if case["alertname"] not in scale_rules:
                continue
            for alert in case.get("exp_alerts") or []:
                labels = {k: str(v) for k, v in alert["exp_labels"].items()}
                assert labels.get("model") or workload(labels), (path.name, labels)
