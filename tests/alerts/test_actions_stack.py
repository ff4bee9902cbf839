"""Real Alertmanager delivering to the receiver: re-sends, two Alertmanagers, a kill -9.

In all of them the CI endpoint (a loopback server recording calls) must see
exactly one successful retraining call for the episode.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from inferwatch.alerts.alertmanager import AlertmanagerClient, PostableAlert
from inferwatch.app import create_app
from inferwatch.stack import AlertmanagerProcess, ServedApp, free_port
from inferwatch.testing.actions import (
    RecordingServer,
    Reply,
    settings_with_policy,
    wait_until,
)

pytestmark = pytest.mark.stack

AmFactory = Callable[..., AlertmanagerProcess]
Serve = Callable[[Any], ServedApp]
TOKEN = "am-token"


@pytest.fixture
def ci() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


def policy(ci_url: str) -> dict[str, Any]:
    return {
        "version": 1,
        "actions": {"retrain": {"target": "ci", "cooldown_seconds": 0}},
        "targets": {"ci": {"type": "webhook", "url": f"{ci_url}/retrain"}},
    }


def am_config(receiver_url: str, extra_webhooks: Sequence[str] = ()) -> dict[str, Any]:
    hooks: list[dict[str, Any]] = [
        {
            "url": f"{receiver_url}/actions/alertmanager",
            "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": TOKEN}},
        }
    ]
    hooks += [{"url": url, "send_resolved": True} for url in extra_webhooks]
    return {
        "route": {
            "receiver": "inferwatch-actions",
            "group_by": ["alertname", "model"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1s",
        },
        "receivers": [{"name": "inferwatch-actions", "webhook_configs": hooks}],
    }


def drift_alert(starts_at: datetime) -> PostableAlert:
    return PostableAlert(
        labels={
            "alertname": "ModelDrift",
            "severity": "warning",
            "model": "fraud",
            "action": "retrain",
        },
        annotations={
            "summary": "fraud drifted",
            "report_url": "http://iw/drift/models/fraud/report",
        },
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=10),
    )


def audit(url: str) -> list[str]:
    entries = httpx.get(f"{url}/actions/audit", params={"limit": 1000}, timeout=5).json()
    return [e["outcome"] for e in entries["entries"]]


def test_alertmanager_resends_yield_one_ci_call(
    tmp_path: Path, serve: Serve, alertmanager_factory: AmFactory, ci: RecordingServer
) -> None:
    settings = settings_with_policy(tmp_path / "d", policy(ci.url), bearer_token=TOKEN)
    receiver = serve(create_app(settings, ["actions"]))
    raw = RecordingServer(lambda _: Reply(200)).start()
    am = alertmanager_factory(alertmanager_config=am_config(receiver.url, [f"{raw.url}/raw"]))
    start = datetime.now(UTC).replace(microsecond=0)

    AlertmanagerClient(am.url).post_alerts([drift_alert(start)])

    wait_until(lambda: "done" in audit(receiver.url), what="the retrain call")
    wait_until(lambda: audit(receiver.url).count("deduplicated") >= 2, what="re-sends")
    raw.stop()
    assert len(ci.successes()) == 1
    assert audit(receiver.url).count("done") == 1
    # What Alertmanager 0.25 actually sends: version 4, no notification reason.
    body = raw.requests[0].json()
    assert body["version"] == "4"
    assert {"groupKey", "truncatedAlerts", "externalURL", "alerts"} <= set(body)
    assert "notificationReason" not in body
    assert "notification_reason" not in body


def test_two_alertmanagers_posting_the_same_alert_yield_one_ci_call(
    tmp_path: Path, serve: Serve, alertmanager_factory: AmFactory, ci: RecordingServer
) -> None:
    settings = settings_with_policy(tmp_path / "d", policy(ci.url), bearer_token=TOKEN)
    receiver = serve(create_app(settings, ["actions"]))
    ams = [alertmanager_factory(alertmanager_config=am_config(receiver.url)) for _ in range(2)]
    start = datetime.now(UTC).replace(microsecond=0)

    for am in ams:  # what Prometheus does: the same alert to every Alertmanager
        AlertmanagerClient(am.url).post_alerts([drift_alert(start)])

    wait_until(lambda: "done" in audit(receiver.url), what="the retrain call")
    wait_until(lambda: audit(receiver.url).count("deduplicated") >= 3, what="both AMs re-sending")
    assert len(ci.successes()) == 1
    assert audit(receiver.url).count("queued") == 1


def test_receiver_killed_mid_delivery_and_restarted_calls_ci_once(
    tmp_path: Path, alertmanager_factory: AmFactory, ci: RecordingServer
) -> None:
    ci_up = {"ok": False}
    ci.responder = lambda _: Reply(204) if ci_up["ok"] else Reply(503, delay=0.3)
    data = tmp_path / "d"
    settings_with_policy(data, policy(ci.url))  # writes the policy file
    port = free_port()
    config = tmp_path / "inferwatch.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(data),
                "log_format": "text",
                "server": {"port": port},
                "alerts": {
                    "actions": {
                        "policy_file": str(data / "policy.yaml"),
                        "bearer_token": TOKEN,
                        "backoff_initial_seconds": 0.1,
                        "backoff_max_seconds": 0.3,
                        "poll_interval_seconds": 0.1,
                        "request_timeout_seconds": 2,
                        "lease_seconds": 1,
                    }
                },
            }
        )
    )
    url = f"http://127.0.0.1:{port}"
    cli = Path(sys.executable).parent / "inferwatch"
    log = (tmp_path / "receiver.log").open("ab")

    def start_receiver() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [str(cli), "actions", "serve", "--config", str(config)], stdout=log, stderr=log
        )
        wait_until(lambda: _ready(url), timeout=30, what="receiver ready")
        return proc

    am = alertmanager_factory(alertmanager_config=am_config(url))
    receiver = start_receiver()
    try:
        AlertmanagerClient(am.url).post_alerts([drift_alert(datetime.now(UTC))])
        wait_until(lambda: len(ci.requests) >= 2, what="failing deliveries")
        time.sleep(0.1)  # most likely inside a 0.3 s CI call now
        os.kill(receiver.pid, signal.SIGKILL)
        receiver.wait(timeout=10)
        killed_at_calls = len(ci.requests)
        time.sleep(1.5)  # Alertmanager keeps notifying a dead receiver
        ci_up["ok"] = True
        receiver = start_receiver()

        wait_until(lambda: len(ci.successes()) >= 1, what="delivery after restart")
        wait_until(lambda: audit(url).count("deduplicated") >= 2, what="re-sends after restart")
        assert len(ci.successes()) == 1
        assert len(ci.requests) > killed_at_calls
        assert len({r.headers["idempotency-key"] for r in ci.requests}) == 1
        outcomes = audit(url)
        assert outcomes.count("queued") == 1
        assert outcomes.count("done") == 1
    finally:
        receiver.send_signal(signal.SIGTERM)
        try:
            receiver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            receiver.kill()
            receiver.wait()
        log.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
