"""Timestamped webhook signatures, replay refusal and retention (issue 14, item 4)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from inferwatch.alerts.actions._ci import SignedWebhook
from inferwatch.alerts.actions._policy import WebhookTarget
from inferwatch.alerts.actions._retention import DAY_SECONDS, prune
from inferwatch.alerts.actions._signature import SignatureError, sign, verify
from inferwatch.alerts.actions.service import ActionsPart
from inferwatch.alerts.actions.targets import ActionRequest
from inferwatch.app import create_app
from inferwatch.errors import ConfigError
from inferwatch.parts import PartContext
from inferwatch.settings import Settings
from inferwatch.stack import ServedApp
from inferwatch.storage import open_storage
from inferwatch.testing.actions import (
    settings_with_policy,
    wait_until,
    webhook_alert,
    webhook_message,
)

SECRET = "hook-secret"
T = 1_780_000_000
URL = "/actions/alertmanager"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _hmac(timestamp: int, body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def test_outbound_webhook_signs_timestamp_and_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    target = SignedWebhook(
        WebhookTarget(type="webhook", url="https://ci.example/hook?apikey=abc"),
        SecretStr(SECRET),
        timeout=1,
        clock=lambda: T + 0.7,
        transport=httpx.MockTransport(handler),
    )
    result = target.execute(ActionRequest("fraud", "retrain", "key1"))
    (request,) = seen
    assert request.headers["x-inferwatch-signature"] == f"t={T},v1={_hmac(T, request.content)}"
    assert "abc" not in result.detail and "apikey=***" in result.detail
    verified = verify(
        SecretStr(SECRET),
        request.headers["x-inferwatch-signature"],
        request.content,
        now=T + 10,
        tolerance_seconds=300,
    )
    assert verified.timestamp == T


@pytest.mark.parametrize(
    ("header", "says"),
    [
        pytest.param("sha256=" + "0" * 64, "t=<unix seconds>", id="old-format"),
        pytest.param(f"t={T}", "t=<unix seconds>", id="no-v1"),
        pytest.param(f"v1={_hmac(T, b'{}')}", "t=<unix seconds>", id="no-t"),
        pytest.param(f"t={T - 301},v1={_hmac(T - 301, b'{}')}", "301s old", id="stale"),
        pytest.param(f"t={T + 301},v1={_hmac(T + 301, b'{}')}", "301s in the future", id="future"),
        pytest.param(f"t={T},v1={_hmac(T, b'{} ')}", "does not match", id="other-body"),
        pytest.param(f"t={T},v1={_hmac(T, b'{}', 'other')}", "does not match", id="other-secret"),
        pytest.param(f"t={T + 1},v1={_hmac(T, b'{}')}", "does not match", id="moved-t"),
    ],
)
def test_verify_refuses_saying_why(header: str, says: str) -> None:
    with pytest.raises(SignatureError, match=says.replace("<", ".").replace(">", ".")):
        verify(SecretStr(SECRET), header, b"{}", now=T, tolerance_seconds=300)


def test_verify_accepts_one_matching_of_several_v1() -> None:
    header = f"t={T},v1={_hmac(T, b'{}', 'old')},v1={_hmac(T, b'{}')}"
    assert verify(SecretStr(SECRET), header, b"{}", now=T + 299, tolerance_seconds=300)


def _app(settings: Settings, clock: Clock) -> TestClient:
    def build(context: PartContext) -> ActionsPart:
        return ActionsPart(context, clock=clock)

    return TestClient(create_app(settings, ["actions"], builders={"actions": build}))


@pytest.fixture
def clock() -> Clock:
    return Clock(float(T))


@pytest.fixture
def receiver(tmp_path: Path, clock: Clock) -> Iterator[TestClient]:
    settings = settings_with_policy(
        tmp_path / "d", {"version": 1}, hmac_secret=SECRET, signature_tolerance_seconds=60
    )
    with _app(settings, clock) as client:
        yield client


def _post(client: TestClient, body: bytes, timestamp: int) -> httpx.Response:
    header = sign(SecretStr(SECRET), body, timestamp)
    answer: httpx.Response = client.post(
        URL, content=body, headers={"X-Inferwatch-Signature": header}
    )
    return answer


def test_receiver_refuses_stale_and_replayed_signatures(receiver: TestClient, clock: Clock) -> None:
    body = json.dumps(webhook_message([webhook_alert()])).encode()
    assert _post(receiver, body, T).status_code == 200
    replay = _post(receiver, body, T)
    assert replay.status_code == 401
    assert "replay" in replay.json()["detail"]
    assert _post(receiver, body, T + 1).status_code == 200  # signed afresh: accepted
    stale = _post(receiver, body, T - 61)  # tolerance configured to 60 s
    assert stale.status_code == 401
    assert "61s old (tolerance 60s)" in stale.json()["detail"]
    clock.now = T + 59
    assert _post(receiver, body, T).status_code == 401  # still a replay inside the window
    old = receiver.post(URL, content=body, headers={"X-Inferwatch-Signature": "sha256=00"})
    assert old.status_code == 401
    assert "t=<unix seconds>,v1=<hex>" in old.json()["detail"]
    unsigned = receiver.post(URL, content=body)
    assert unsigned.status_code == 401
    assert unsigned.json()["detail"] == "missing or wrong credentials for the actions receiver"


def test_seen_signatures_are_forgotten_once_outside_the_window(
    tmp_path: Path, clock: Clock
) -> None:
    settings = settings_with_policy(
        tmp_path / "d", {"version": 1}, hmac_secret=SECRET, retention_interval_seconds=0.05
    )
    with _app(settings, clock) as client:
        body = json.dumps(webhook_message([webhook_alert()])).encode()
        assert _post(client, body, T).status_code == 200
        store = client.app.state.storage  # type: ignore[attr-defined]
        assert store.query("SELECT COUNT(*) FROM actions_signatures")[0][0] == 1
        clock.now = T + 301
        wait_until(
            lambda: store.query("SELECT COUNT(*) FROM actions_signatures")[0][0] == 0,
            what="the background pruning of seen signatures",
        )
        assert _post(client, body, T).status_code == 401  # and the timestamp check holds


def _policy(cooldown: float = 0) -> dict[str, Any]:
    return {
        "version": 1,
        "dry_run": True,  # decided, audited and deduplicated without calling anyone
        "actions": {"retrain": {"target": "ci", "cooldown_seconds": cooldown}},
        "targets": {"ci": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}},
    }


def test_retention_prunes_audit_and_dedup_rows_in_the_background(
    tmp_path: Path, clock: Clock
) -> None:
    settings = settings_with_policy(tmp_path / "d", _policy(), retention_interval_seconds=0.05)
    with _app(settings, clock) as client:
        store = client.app.state.storage  # type: ignore[attr-defined]

        def send(model: str) -> str:
            answer = client.post(URL, json=webhook_message([webhook_alert(model)]))
            return str(answer.json()["decisions"][0]["outcome"])

        def audit_models() -> list[str]:
            entries = client.get("/actions/audit").json()["entries"]
            return sorted(e["model"] for e in entries)

        assert send("fraud") == "dry_run"
        assert send("churn") == "dry_run"
        clock.now = T + 20 * DAY_SECONDS
        assert send("fraud") == "deduplicated"  # still firing: Alertmanager re-sends
        clock.now = T + 31 * DAY_SECONDS
        wait_until(lambda: audit_models() == ["fraud"], what="day-0 audit rows pruned")
        outbox = store.query("SELECT model FROM actions_outbox ORDER BY model")
        assert outbox == [("fraud",)]  # churn's finished row is gone, fraud's was seen on day 20
        assert send("fraud") == "deduplicated"
        clock.now = T + 62 * DAY_SECONDS
        wait_until(
            lambda: store.query("SELECT COUNT(*) FROM actions_outbox")[0][0] == 0,
            what="the quiet episode's dedup row pruned",
        )
        assert audit_models() == []


def test_prune_keeps_pending_rows_and_respects_the_setting(tmp_path: Path, store_url: str) -> None:
    settings = settings_with_policy(tmp_path / "d", _policy(), retention_days=7)
    storage = open_storage(store_url)
    storage.migrate()
    with storage.transaction() as tx:
        for key, status, at in (("a", "pending", 0.0), ("b", "done", 0.0), ("c", "done", 6.5)):
            tx.execute(
                "INSERT INTO actions_outbox (dedup_key, idempotency_key, model, action, target,"
                " alert_json, status, next_attempt_at, created_at, updated_at)"
                " VALUES (?, ?, 'm', 'retrain', 'ci', '{}', ?, 0, ?, ?)",
                (key, key, status, at * DAY_SECONDS, at * DAY_SECONDS),
            )
    pruned = prune(storage, settings.alerts.actions, now=7.1 * DAY_SECONDS)
    assert pruned.outbox == 1
    left = storage.query("SELECT dedup_key FROM actions_outbox ORDER BY dedup_key")
    assert left == [("a",), ("c",)]


def test_a_cooldown_longer_than_the_retention_is_refused(tmp_path: Path) -> None:
    settings = settings_with_policy(
        tmp_path / "d", _policy(cooldown=10 * DAY_SECONDS), retention_days=7
    )
    with pytest.raises(ConfigError, match=r"'retrain' has cooldown_seconds 864000.*retention_days"):
        create_app(settings, ["actions"])


def test_unauthenticated_oversized_webhook_is_refused_before_its_body_is_read(
    tmp_path: Path, serve: Callable[[Any], ServedApp]
) -> None:
    settings = settings_with_policy(tmp_path / "d", {"version": 1}, bearer_token="am-token")
    served = serve(create_app(settings, ["actions"]))
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as conn:
        conn.sendall(
            b"POST /actions/alertmanager HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{"
        )
        answer = b""
        while b"max_body_bytes" not in answer:  # headers and body may come in two segments
            chunk = conn.recv(4096)  # a body-first receiver would wait for 1 GB here
            if not chunk:
                break
            answer += chunk
    # admission answers on the declared size, before the route's credential check runs
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"server.limits.max_body_bytes" in answer
