"""Procs as separate ``inferwatch`` processes on one PostgreSQL (issue 18, item 4).

A real Prometheus and Alertmanager, two rules services and two actions receivers
(each its own process), a loopback CI target. Alertmanager fans every
notification out to both receivers. Asserted: one retraining call for the
episode, even when the replica holding the outbox claim is killed (-9) mid-call;
cooldown holds across replicas; when the rules leader is killed the other
replica takes over and Alertmanager keeps one alert with the original startsAt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from inferwatch.alerts.alertmanager import AlertmanagerClient, PostableAlert
from inferwatch.pgserver import PostgresServer
from inferwatch.stack import AlertmanagerProcess, PrometheusProcess
from inferwatch.storage import SqlStorage, open_storage
from inferwatch.testing.actions import RecordingServer, Reply, wait_until

from .conftest import Proc

pytestmark = pytest.mark.stack

TOKEN = "am-token"
RULES = {
    "groups": [
        {
            "name": "replicas",
            "interval": "1s",
            "rules": [
                {
                    "alert": "ModelDrift",
                    "expr": "vector(1)",
                    "labels": {"severity": "warning", "model": "fraud", "action": "retrain"},
                    "annotations": {"summary": "fraud drifted"},
                }
            ],
        }
    ]
}


@pytest.fixture
def replicas() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for replica in started:
        replica.stop()


def _pid(holder: str) -> int:
    return int(holder.split(":")[1])


def _audit(url: str) -> list[str]:
    entries = httpx.get(f"{url}/actions/audit", params={"limit": 1000}, timeout=5).json()
    return [e["outcome"] for e in entries["entries"]]


def test_replicas_act_once_and_survive_kill_9(
    tmp_path: Path,
    postgres_server: PostgresServer,
    prometheus_factory: Callable[..., PrometheusProcess],
    alertmanager_factory: Callable[..., AlertmanagerProcess],
    replicas: list[Proc],
) -> None:
    url = postgres_server.create_database("replicas")
    store: SqlStorage = open_storage(url)
    store.migrate()
    ci_up = {"ok": False}
    with RecordingServer(lambda _: Reply(204) if ci_up["ok"] else Reply(503, delay=0.5)) as ci:
        policy = tmp_path / "policy.yaml"
        policy.write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "actions": {"retrain": {"target": "ci", "cooldown_seconds": 3600}},
                    "targets": {"ci": {"type": "webhook", "url": f"{ci.url}/retrain"}},
                }
            )
        )
        rules_file = tmp_path / "rules.yaml"
        rules_file.write_text(yaml.safe_dump(RULES))
        base = {"database_url": url, "log_format": "text", "data_dir": str(tmp_path / "d")}
        actions = {
            **base,
            "alerts": {
                "actions": {
                    "policy_file": str(policy),
                    "bearer_token": TOKEN,
                    "backoff_initial_seconds": 0.1,
                    "backoff_max_seconds": 0.3,
                    "poll_interval_seconds": 0.1,
                    "request_timeout_seconds": 5,
                    "lease_seconds": 2,
                }
            },
        }
        receivers = [
            Proc.part(tmp_path, "actions", f"actions{i}", actions).wait_ready(60) for i in range(2)
        ]
        replicas.extend(receivers)
        hooks = [
            {
                "url": f"{r.url}/actions/alertmanager",
                "http_config": {"authorization": {"type": "Bearer", "credentials": TOKEN}},
            }
            for r in receivers
        ]
        am = alertmanager_factory(
            alertmanager_config={
                "route": {
                    "receiver": "both",
                    "group_by": ["alertname", "model"],
                    "group_wait": "1s",
                    "group_interval": "1s",
                    "repeat_interval": "1s",
                },
                "receivers": [{"name": "both", "webhook_configs": hooks}],
            }
        )
        prometheus = prometheus_factory()
        rules = {
            **base,
            "alerts": {
                "alertmanager_url": am.url,
                "rules": {
                    "query_url": prometheus.url,
                    "include_default_rules": False,
                    "rule_files": [str(rules_file)],
                    "leader_lease_seconds": 2,
                    "resend_delay_seconds": 1,
                },
            },
        }
        rulers = [Proc.part(tmp_path, "rules", f"rules{i}", rules).wait_ready(60) for i in range(2)]
        replicas.extend(rulers)
        client = AlertmanagerClient(am.url)

        # one episode reaches both receivers; its delivery fails slowly, so a claim is held
        wait_until(lambda: len(ci.requests) >= 2, timeout=40, what="failing deliveries")
        holder = wait_until_value(
            lambda: store.query(
                "SELECT claimed_by FROM actions_outbox WHERE claimed_by IS NOT NULL"
            ),
            what="a claimed outbox row",
        )[0][0]
        claimant = next(r for r in receivers if r.proc.pid == _pid(holder))
        survivor = next(r for r in receivers if r is not claimant)
        wait_until(lambda: len(ci.requests) > len(ci.answered), what="a call in flight")
        claimant.kill()  # mid-delivery
        ci_up["ok"] = True
        wait_until(lambda: len(ci.successes()) >= 1, timeout=30, what="delivery by the survivor")
        wait_until(lambda: _audit(survivor.url).count("deduplicated") >= 3, what="re-sends")
        assert len(ci.successes()) == 1
        assert len({r.headers["idempotency-key"] for r in ci.requests}) == 1
        outcomes = _audit(survivor.url)
        assert outcomes.count("queued") == 1
        assert outcomes.count("done") == 1

        # another episode of the same model inside the cooldown: refused by every replica
        client.post_alerts(
            [
                PostableAlert(
                    labels={"alertname": "Other", "model": "fraud", "action": "retrain"},
                    annotations={"summary": "again"},
                    starts_at=datetime.now(UTC),
                )
            ]
        )
        wait_until(lambda: "cooled_down" in _audit(survivor.url), what="the cooldown")
        assert len(ci.successes()) == 1

        # the rules leader dies; the other replica continues the same episode
        def am_alerts() -> list[dict[str, Any]]:
            return client.get_alerts(['alertname="ModelDrift"'])

        (before,) = am_alerts()
        leader_holder = store.query("SELECT holder FROM leases WHERE name = 'rules.leader'")[0][0]
        leader = next(r for r in rulers if r.proc.pid == _pid(leader_holder))
        follower = next(r for r in rulers if r is not leader)
        leader.kill()
        wait_until(
            lambda: _holder_of(store, follower) is not None,
            timeout=20,
            what="the follower taking the lead",
        )
        posted_by_follower = wait_until_value(
            lambda: httpx.get(f"{follower.url}/rules/alerts", timeout=5).json(),
            what="the new leader's alerts",
        )
        assert posted_by_follower[0]["state"] == "firing"
        after = wait_until_value(am_alerts, what="the alert in Alertmanager")
        assert len(after) == 1
        assert after[0]["startsAt"] == before["startsAt"]
        assert len(ci.successes()) == 1
    store.close()


def _holder_of(store: SqlStorage, replica: Proc) -> str | None:
    rows = store.query("SELECT holder FROM leases WHERE name = 'rules.leader'")
    if rows and _pid(str(rows[0][0])) == replica.proc.pid:
        return str(rows[0][0])
    return None


def wait_until_value(check: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll until ``check()`` is truthy; return it."""
    found: list[Any] = []

    def probe() -> bool:
        value = check()
        if value:
            found.append(value)
        return bool(value)

    wait_until(probe, timeout=timeout, what=what)
    return found[-1]
