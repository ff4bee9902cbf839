"""Drift in, retraining webhook out: every part, real Prometheus and Alertmanager, real HTTP.

One run of the demo's story (simulated GPUs, an instrumented model server under load
recording into the collector, the drift engine, the rules service, Alertmanager,
the actions receiver) is shared by the checks below.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from inferwatch.alerts.alertmanager import AlertmanagerClient, PostableAlert
from inferwatch.dashboards import catalog
from inferwatch.dashboards.queries import concrete, panel_queries
from inferwatch.demo.chain import HOOK_SECRET, QUEUE_RULE, SCALE_RULE, DemoOptions, DemoStack
from inferwatch.demo.engine import ENGINE_MODEL
from inferwatch.demo.story import DemoResult, run_story
from inferwatch.demo.synthetic import MODEL

pytestmark = [pytest.mark.stack, pytest.mark.slow]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoStack, DemoResult]]:
    lines: list[str] = []
    options = DemoOptions(
        workdir=tmp_path_factory.mktemp("e2e"), use_stack=True, xid_interval_seconds=5
    )
    stack = DemoStack(options, say=lines.append)
    try:
        stack.start()
        result = run_story(stack, timeout=120)
        print("\n".join(lines))
        print(f"drift onset -> retraining webhook: {result.onset_to_webhook_seconds:.1f}s")
        yield stack, result
    finally:
        stack.stop()


def test_retraining_call_arrives_exactly_once_with_model_features_and_report(
    story: tuple[DemoStack, DemoResult],
) -> None:
    stack, result = story
    calls = stack.retrain_calls()
    assert len(calls) == 1, [c.json() for c in calls]
    body = calls[0].json()
    assert body["version"] == "1" and body["model"] == MODEL and body["action"] == "retrain"
    assert body["report_url"].endswith(f"/drift/models/{MODEL}/report")
    assert httpx.get(body["report_url"], timeout=60).status_code == 200
    drifted = set(body["drift"]["drifted_features"])
    assert {"amount", "country"} <= drifted  # the features the shift moved
    assert "channel" not in drifted  # the one it left alone
    assert calls[0].headers["idempotency-key"] == body["idempotency_key"]
    header = calls[0].headers["x-inferwatch-signature"]
    timestamp = header.split(",")[0].removeprefix("t=")
    signed = f"{timestamp}.".encode() + calls[0].body
    expected = hmac.new(HOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert header == f"t={timestamp},v1={expected}"
    assert abs(time.time() - int(timestamp)) < 600
    assert result.onset_to_webhook_seconds is not None and result.onset_to_webhook_seconds > 0


def test_timeline_is_in_causal_order(story: tuple[DemoStack, DemoResult]) -> None:
    stack, _ = story
    order = [
        "baseline created",
        "calm window evaluated",
        "traffic shifted",
        "drift detected",
        "alert fired",
        "retraining webhook delivered",
    ]
    times = [stack.event(name) for name in order]
    assert all(times), [e.what for e in stack.events]
    assert [e.at for e in times if e] == sorted(e.at for e in times if e)
    calm = stack.event("calm window evaluated")
    assert calm is not None and calm.detail["verdict"] != "drift"


def _patches(stack: DemoStack, deployment: str) -> list[object]:
    suffix = f"/deployments/{deployment}/scale"
    return [p for p in stack.cluster.patches() if p.path.endswith(suffix)]


@pytest.mark.parametrize(
    ("model", "rule"),
    [
        pytest.param(MODEL, SCALE_RULE, id="instrumented-model-busy"),
        pytest.param(ENGINE_MODEL, QUEUE_RULE, id="vllm-requests-waiting"),
    ],
)
def test_scale_action_respects_its_cooldown(
    story: tuple[DemoStack, DemoResult], model: str, rule: str
) -> None:
    stack, _ = story
    assert stack.alertmanager is not None and stack.service is not None
    service_url = stack.service.url
    deployment = f"{model}-server"
    stack.wait_for("scale action", lambda: _patches(stack, deployment), 60)
    assert len(_patches(stack, deployment)) == 1
    assert stack.cluster.replicas[deployment] == 2
    # A second episode of the same model and action, inside the cooldown.
    client = AlertmanagerClient(stack.alertmanager.url)
    client.post_alerts(
        [
            PostableAlert(
                labels={
                    "alertname": rule,
                    "model": model,
                    "action": "scale",
                    "severity": "info",
                    "episode": "2",
                },
                annotations={"summary": "second burst"},
                starts_at=datetime.now(UTC),
            )
        ]
    )
    client.close()

    def cooled_down() -> bool:
        audit = httpx.get(
            f"{service_url}/actions/audit",
            params={"model": model},
            timeout=10,
        ).json()
        entries = audit["entries"] if isinstance(audit, dict) else audit
        return any(e["action"] == "scale" and e["outcome"] == "cooled_down" for e in entries)

    stack.wait_for("cooled-down scale", cooled_down, 30)
    time.sleep(2)
    assert len(_patches(stack, deployment)) == 1


def test_every_dashboard_panel_has_data(story: tuple[DemoStack, DemoResult]) -> None:
    stack, _ = story
    assert stack.prometheus is not None
    empty = []
    for uid, model in catalog.load_generated().items():
        for query in panel_queries(model):
            if not stack.prometheus.query(concrete(query.expr)):
                empty.append(f"{uid} / {query.panel}: {query.expr}")
    assert empty == []


def test_demo_state_survives_in_the_data_dir(story: tuple[DemoStack, DemoResult]) -> None:
    stack, _ = story
    assert stack.service is not None
    assert Path(stack.settings.sqlite_path()).exists()
    history = httpx.get(
        f"{stack.service.url}/drift/models/{MODEL}/results",
        timeout=10,
    )
    assert history.status_code == 200
