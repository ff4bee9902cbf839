"""The receiver served over real HTTP: auth, validation, exactly-once decisions, the outbox."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from inferwatch.alerts.actions._signature import sign
from inferwatch.app import create_app
from inferwatch.cli import app as cli
from inferwatch.settings import Settings
from inferwatch.stack import ServedApp
from inferwatch.testing.actions import (
    FakeKubernetesApi,
    RecordingServer,
    Reply,
    hpa,
    settings_with_policy,
    wait_until,
    webhook_alert,
    webhook_message,
)

Serve = Callable[[Any], ServedApp]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def ci() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


def retrain_policy(ci_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "max_actions_per_hour": 20,
        "actions": {"retrain": {"target": "ci", "cooldown_seconds": 0}},
        "targets": {"ci": {"type": "webhook", "url": f"{ci_url}/retrain"}},
        **extra,
    }


class Receiver:
    """A served receiver plus a client that posts webhook bodies to it."""

    def __init__(self, served: ServedApp, token: str | None = "am-token") -> None:
        self.url = served.url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=served.url, headers=headers, timeout=10)

    def post(self, *alerts: dict[str, Any], **kw: Any) -> httpx.Response:
        return self.http.post("/actions/alertmanager", json=webhook_message(list(alerts), **kw))

    def audit(self, **params: Any) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.http.get("/actions/audit", params=params).json()[
            "entries"
        ]
        return entries

    def outcomes(self) -> list[str]:
        return sorted(e["outcome"] for e in self.audit(limit=1000))

    def metric(self, outcome: str, model: str = "fraud", action: str = "retrain") -> float:
        text = self.http.get("/metrics").text
        for line in text.splitlines():
            if line.startswith("inferwatch_actions_total{") and (
                f'outcome="{outcome}"' in line
                and f'model="{model}"' in line
                and f'action="{action}"' in line
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0


def start(serve: Serve, settings: Settings, token: str | None = "am-token") -> Receiver:
    return Receiver(serve(create_app(settings, ["actions"])), token)


def test_auth_bearer_basic_and_hmac(tmp_path: Path, serve: Serve, ci: RecordingServer) -> None:
    settings = settings_with_policy(
        tmp_path / "d",
        retrain_policy(ci.url),
        bearer_token="am-token",
        basic_auth_username="am",
        basic_auth_password="am-pass",
        hmac_secret="hook-secret",
    )
    receiver = start(serve, settings, token=None)
    body = json.dumps(webhook_message([webhook_alert(action="none")])).encode()
    url = "/actions/alertmanager"

    assert receiver.http.post(url, content=body).status_code == 401
    wrong = receiver.http.post(url, content=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert "am-token" not in wrong.text
    ok_bearer = receiver.http.post(url, content=body, headers={"Authorization": "Bearer am-token"})
    assert ok_bearer.status_code == 200
    basic = base64.b64encode(b"am:am-pass").decode()
    assert (
        receiver.http.post(url, content=body, headers={"Authorization": f"Basic {basic}"})
    ).status_code == 200
    bad_basic = base64.b64encode(b"am:wrong").decode()
    assert (
        receiver.http.post(url, content=body, headers={"Authorization": f"Basic {bad_basic}"})
    ).status_code == 401
    signature = sign(SecretStr("hook-secret"), body, int(time.time()))
    assert (
        receiver.http.post(url, content=body, headers={"X-Inferwatch-Signature": signature})
    ).status_code == 200
    assert (
        receiver.http.post(url, content=body + b" ", headers={"X-Inferwatch-Signature": signature})
    ).status_code == 401


def test_falls_back_to_the_service_api_token(tmp_path: Path, serve: Serve) -> None:
    settings = settings_with_policy(tmp_path / "d", {"version": 1})
    settings = settings.model_copy(
        update={"server": settings.server.model_copy(update={"api_token": SecretStr("svc")})}
    )
    assert start(serve, settings, token=None).post(webhook_alert()).status_code == 401
    assert start(serve, settings, token="svc").post(webhook_alert()).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        pytest.param(webhook_message([webhook_alert()], version="3"), 400, "version '3'", id="v3"),
        pytest.param({"version": "4", "status": "firing"}, 422, "alerts", id="no-alerts"),
        pytest.param(
            webhook_message([{**webhook_alert(), "fingerprint": ""}]), 422, "fingerprint", id="fp"
        ),
        pytest.param(
            webhook_message([{**webhook_alert(), "startsAt": "yesterday"}]),
            422,
            "startsAt",
            id="date",
        ),
    ],
)
def test_bad_payloads_are_4xx_saying_what(
    tmp_path: Path, serve: Serve, body: dict[str, Any], status: int, says: str
) -> None:
    receiver = start(serve, settings_with_policy(tmp_path / "d", {"version": 1}), token=None)
    response = receiver.http.post("/actions/alertmanager", json=body)
    assert response.status_code == status
    assert says in response.json()["detail"]
    assert receiver.audit() == []


def test_same_episode_three_times_calls_ci_once(
    tmp_path: Path, serve: Serve, ci: RecordingServer
) -> None:
    settings = settings_with_policy(tmp_path / "d", retrain_policy(ci.url), bearer_token="am-token")
    receiver = start(serve, settings)
    alert = webhook_alert("fraud", starts_at=T0)

    for _ in range(3):
        assert receiver.post(alert).status_code == 200

    wait_until(lambda: "done" in receiver.outcomes(), what="delivery")
    assert len(ci.requests) == 1
    assert ci.requests[0].path == "/retrain"
    assert receiver.outcomes() == ["deduplicated", "deduplicated", "done", "queued"]
    assert receiver.metric("done") == 1
    assert receiver.metric("deduplicated") == 2
    wait_until(
        lambda: "inferwatch_actions_outbox_pending 0.0" in receiver.http.get("/metrics").text
    )


def test_cooldown_rate_limit_and_dry_run(tmp_path: Path, serve: Serve, ci: RecordingServer) -> None:
    policy = retrain_policy(ci.url, max_actions_per_hour=2)
    policy["actions"]["retrain"]["cooldown_seconds"] = 3600
    receiver = start(serve, settings_with_policy(tmp_path / "d", policy, bearer_token="am-token"))

    receiver.post(webhook_alert("fraud", starts_at=T0))
    second_episode = receiver.post(webhook_alert("fraud", starts_at=T0 + timedelta(hours=2)))
    assert second_episode.json()["decisions"][0]["outcome"] == "cooled_down"
    receiver.post(webhook_alert("churn", starts_at=T0))
    third_model = receiver.post(webhook_alert("ranker", starts_at=T0)).json()
    assert third_model["decisions"][0]["outcome"] == "rate_limited"

    wait_until(lambda: len(ci.successes()) == 2, what="two deliveries")
    assert sorted(r.json()["model"] for r in ci.requests) == ["churn", "fraud"]
    assert receiver.metric("cooled_down") == 1
    assert receiver.metric("rate_limited", model="ranker") == 1

    dry = start(
        serve,
        settings_with_policy(tmp_path / "dry", retrain_policy(ci.url), dry_run=True),
        token=None,
    )
    assert dry.post(webhook_alert("fraud", starts_at=T0)).json()["decisions"][0]["outcome"] == (
        "dry_run"
    )
    assert dry.metric("dry_run") == 1
    assert len(ci.requests) == 2


def test_ignored_decisions_are_audited(tmp_path: Path, serve: Serve, ci: RecordingServer) -> None:
    receiver = start(serve, settings_with_policy(tmp_path / "d", retrain_policy(ci.url)), None)
    no_model = webhook_alert()
    no_model["labels"].pop("model")
    decisions = receiver.post(
        webhook_alert("fraud", status="resolved"),
        webhook_alert("fraud", action="none"),
        webhook_alert("fraud", action="scale"),
        no_model,
    ).json()["decisions"]
    repeat = {**webhook_message([webhook_alert("churn")]), "notificationReason": "repeat"}
    decisions += receiver.http.post("/actions/alertmanager", json=repeat).json()["decisions"]

    assert [d["outcome"] for d in decisions] == ["ignored"] * 5
    details = " | ".join(d["detail"] for d in decisions)
    for reason in ("resolved", "'none'", "'scale'", "no model label", "repeat"):
        assert reason in details
    assert ci.requests == []
    assert [e["outcome"] for e in receiver.audit(model="churn")] == ["ignored"]


def test_ci_failing_with_500s_and_timeouts_then_succeeding_is_called_once(
    tmp_path: Path, serve: Serve, ci: RecordingServer
) -> None:
    # A hung endpoint that gives up after our timeout (e.g. a gateway's 504) started nothing;
    # one that hangs and then succeeds may have: that case is what the idempotency key is for.
    script = [Reply(500), Reply(504, delay=1.5), Reply(503), Reply(504, delay=1.5)]

    def flaky(_: object) -> Reply:
        return script.pop(0) if script else Reply(204)

    ci.responder = flaky
    settings = settings_with_policy(
        tmp_path / "d", retrain_policy(ci.url), request_timeout_seconds=0.5
    )
    receiver = start(serve, settings, token=None)
    receiver.post(webhook_alert("fraud", starts_at=T0))
    receiver.post(webhook_alert("fraud", starts_at=T0))  # Alertmanager re-sending meanwhile

    wait_until(lambda: "done" in receiver.outcomes(), what="eventual delivery")
    wait_until(lambda: len(ci.answered) == len(ci.requests), what="hung replies to finish")
    assert len(ci.successes()) == 1
    keys = {r.headers["idempotency-key"] for r in ci.requests}
    assert len(keys) == 1  # every attempt carries the episode's key
    assert len(ci.requests) == 5
    assert receiver.outcomes().count("retry") == 4
    (entry,) = receiver.http.get("/actions/outbox").json()["entries"]
    assert entry["status"] == "done"
    assert entry["attempts"] == 5


def test_exhausted_retries_are_failed_and_visible_everywhere(
    tmp_path: Path, serve: Serve, ci: RecordingServer
) -> None:
    ci.responder = lambda _: Reply(502)
    settings = settings_with_policy(tmp_path / "d", retrain_policy(ci.url), max_attempts=3)
    receiver = start(serve, settings, token=None)
    receiver.post(webhook_alert("fraud", starts_at=T0))

    wait_until(lambda: "failed" in receiver.outcomes(), what="failure")
    assert len(ci.requests) == 3
    assert receiver.metric("failed") == 1
    (entry,) = receiver.http.get("/actions/outbox", params={"status": "failed"}).json()["entries"]
    assert "502" in entry["last_error"]
    assert receiver.http.get("/actions/outbox", params={"status": "bogus"}).status_code == 400

    runner = CliRunner()
    config = tmp_path / "settings.yaml"
    config.write_text(f"data_dir: {tmp_path / 'd'}\n")
    outbox = runner.invoke(cli, ["actions", "outbox", "--config", str(config), "--json"])
    assert outbox.exit_code == 1, outbox.output
    assert json.loads(outbox.stdout)[0]["status"] == "failed"
    audit = runner.invoke(
        cli, ["actions", "audit", "--config", str(config), "--model", "fraud", "--json"]
    )
    assert audit.exit_code == 0, audit.output
    outcomes = [e["outcome"] for e in json.loads(audit.stdout)]
    assert outcomes == ["failed", "retry", "retry", "queued"]
    assert "exhausted" in json.loads(audit.stdout)[0]["detail"]
    bad = runner.invoke(cli, ["actions", "outbox", "--config", str(config), "--status", "lost"])
    assert bad.exit_code == 2
    assert "--status must be one of" in bad.output

    ci.responder = lambda _: Reply(204)
    requeued = receiver.http.post(f"/actions/outbox/{entry['id']}/retry")
    assert requeued.status_code == 200, requeued.text
    wait_until(lambda: "done" in receiver.outcomes(), what="delivery after re-queue")
    assert len(ci.successes()) == 1
    again = receiver.http.post(f"/actions/outbox/{entry['id']}/retry")
    assert again.status_code == 409
    assert "only failed" in again.json()["detail"]
    assert receiver.http.post("/actions/outbox/999/retry").status_code == 404


def test_scale_refused_for_keda_is_audited_as_ignored(tmp_path: Path, serve: Serve) -> None:
    k8s = FakeKubernetesApi()
    k8s.hpas["keda-hpa"] = hpa("keda-hpa", "fraud", labels={"scaledobject.keda.sh/name": "fraud"})
    k8s.replicas["fraud"] = 1
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
        receiver = start(serve, settings_with_policy(tmp_path / "d", policy), token=None)
        receiver.post(webhook_alert("fraud", action="scale", starts_at=T0))
        wait_until(lambda: "ignored" in receiver.outcomes(), what="refusal")
    assert k8s.patches() == []
    (entry,) = receiver.audit(outcome="ignored")
    assert "KEDA" in entry["detail"]
    assert receiver.metric("ignored", action="scale") == 1


def test_policy_check_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    good = tmp_path / "good.yaml"
    good.write_text(
        "version: 1\nactions:\n  retrain: {target: gh}\n"
        "targets:\n  gh: {type: github_workflow_dispatch, repository: acme/m,"
        " workflow: r.yml, token_env: GH_TOKEN}\n"
    )
    result = runner.invoke(cli, ["actions", "policy", "check", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["actions"] == {"retrain": "gh"}

    missing = runner.invoke(cli, ["actions", "policy", "check", str(good), "--resolve-secrets"])
    assert missing.exit_code == 2
    assert "GH_TOKEN is not set" in missing.output
    monkeypatch.setenv("GH_TOKEN", "t0ken")
    found = runner.invoke(cli, ["actions", "policy", "check", str(good), "--resolve-secrets"])
    assert found.exit_code == 0
    assert "t0ken" not in found.output

    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nactions:\n  retrain: {target: nowhere}\n")
    result = runner.invoke(cli, ["actions", "policy", "check", str(bad)])
    assert result.exit_code == 2
    assert "'nowhere', which is not defined" in result.output
