"""``inferwatch up`` as a real process with a token set (issue 14, items 3 to 5).

Reads need a token, a webhook target's query-string secret never shows in the
audit API, the outbox or the log, and a locked store answers 503 with
Retry-After while the log names the lock.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from inferwatch.stack import free_port
from inferwatch.testing.actions import (
    RecordingServer,
    Reply,
    wait_until,
    webhook_alert,
    webhook_message,
)

WRITE, READ, AM = "write-t0ken", "read-t0ken", "am-t0ken"
HOOK_KEY = "SUPERSECRETKEY42"


@dataclass
class Server:
    url: str
    log: Path
    db: Path

    def get(self, path: str, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{self.url}{path}", headers=headers, timeout=10)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def hook() -> Iterator[RecordingServer]:
    replies = [Reply(500)]

    def respond(_: object) -> Reply:
        return replies.pop(0) if replies else Reply(204)

    with RecordingServer() as server:
        server.responder = respond
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, hook: RecordingServer) -> Iterator[Server]:
    tmp_path = tmp_path_factory.mktemp("server")
    data = tmp_path / "data"
    data.mkdir()
    policy = {
        "version": 1,
        "actions": {"retrain": {"target": "ci", "cooldown_seconds": 0}},
        "targets": {"ci": {"type": "webhook", "url": f"{hook.url}/hook?apikey={HOOK_KEY}&v=1"}},
    }
    (data / "policy.yaml").write_text(yaml.safe_dump(policy))
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(data),
                "database_busy_timeout_seconds": 0.3,
                "server": {"port": port, "api_token": WRITE, "read_token": READ},
                "collector": {"enabled": False},
                "exporters": {"enabled": False},
                "alerts": {
                    "rules": {"enabled": False},
                    "actions": {
                        "policy_file": str(data / "policy.yaml"),
                        "bearer_token": AM,
                        "backoff_initial_seconds": 0.1,
                        "backoff_max_seconds": 0.2,
                        "poll_interval_seconds": 0.1,
                    },
                },
            }
        )
    )
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    cli = Path(sys.executable).parent / "inferwatch"
    with log_path.open("ab") as log:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INFERWATCH_")}
        proc = subprocess.Popen(
            [str(cli), "up", "--config", str(config)], stdout=log, stderr=log, env=env
        )
        try:
            wait_until(lambda: _ready(url), timeout=60, what="inferwatch up ready")
            yield Server(url, log_path, data / "inferwatch.db")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_reads_need_a_token_on_a_real_server(server: Server) -> None:
    for path in ("/actions/audit", "/actions/outbox", "/drift/baselines", "/openapi.json"):
        assert server.get(path).status_code == 401, path
        assert server.get(path, "nope").status_code == 401, path
        assert server.get(path, READ).status_code == 200, path
        assert server.get(path, WRITE).status_code == 200, path
    for path in ("/healthz", "/readyz", "/metrics"):
        assert server.get(path).status_code == 200, path
    assert server.get("/drift/models/m/report").status_code == 401


def test_webhook_secret_never_shows_in_audit_outbox_or_log(
    server: Server, hook: RecordingServer
) -> None:
    body = webhook_message([webhook_alert("fraud")])
    posted = httpx.post(
        f"{server.url}/actions/alertmanager",
        json=body,
        headers={"Authorization": f"Bearer {AM}"},
        timeout=10,
    )
    assert posted.status_code == 200
    wait_until(lambda: len(hook.successes()) == 1, what="delivery after one 500")
    assert HOOK_KEY in hook.requests[0].path  # the target itself gets its key

    def audit_text() -> str:
        return server.get("/actions/audit", READ).text

    wait_until(lambda: '"done"' in audit_text(), what="done in the audit")
    audit = json.loads(audit_text())["entries"]
    shown = audit_text() + server.get("/actions/outbox", READ).text
    assert HOOK_KEY not in shown
    assert any("apikey=***" in e["detail"] for e in audit)
    assert any(e["outcome"] == "retry" and "500" in e["detail"] for e in audit)
    db = sqlite3.connect(str(server.db))
    stored = json.dumps(db.execute("SELECT * FROM actions_audit").fetchall())
    stored += json.dumps(db.execute("SELECT last_error FROM actions_outbox").fetchall())
    db.close()
    assert HOOK_KEY not in stored
    assert HOOK_KEY not in server.log.read_text()


def test_a_locked_store_is_503_with_the_cause_in_the_log(server: Server) -> None:
    csv = "amount,kind\n" + "".join(f"{i % 7},{'ab'[i % 2]}\n" for i in range(100))
    headers = {"Authorization": f"Bearer {WRITE}", "Content-Type": "text/csv"}
    other = sqlite3.connect(str(server.db), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        answer = httpx.post(
            f"{server.url}/drift/baselines/m", content=csv, headers=headers, timeout=10
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    log = server.log.read_text()
    assert "database is locked" in log
    assert "cannot rollback" not in log
    assert server.get("/healthz").status_code == 200
    again = httpx.post(f"{server.url}/drift/baselines/m", content=csv, headers=headers, timeout=10)
    assert again.status_code == 201
