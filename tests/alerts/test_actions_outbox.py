"""The outbox on a real SQLite store: decisions, leases, backoff."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from inferwatch.alerts.actions_audit import Decision, read_audit
from inferwatch.alerts.actions_outbox import MIGRATIONS, Outbox, backoff
from inferwatch.alerts.actions_payload import parse_message
from inferwatch.alerts.actions_policy import parse_policy
from inferwatch.alerts.actions_testing import webhook_alert, webhook_message
from inferwatch.storage import SqliteStorage

POLICY = parse_policy(
    "version: 1\nactions:\n  retrain: {target: ci, cooldown_seconds: 0}\n"
    "targets:\n  ci: {type: webhook, url: 'http://127.0.0.1:9/hook'}\n"
)


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    store = SqliteStorage(tmp_path / "state.db")
    store.migrate(MIGRATIONS)
    return Outbox(store)


def message(*models: str) -> bytes:
    return json.dumps(webhook_message([webhook_alert(m) for m in models])).encode()


def test_accept_survives_reopening_the_store(tmp_path: Path, outbox: Outbox) -> None:
    outbox.accept(parse_message(message("fraud")), POLICY, dry_run=False, now=100.0)
    outbox.storage.close()

    reopened = SqliteStorage(tmp_path / "state.db")
    reopened.migrate(MIGRATIONS)  # idempotent: nothing new to apply
    (entry,) = Outbox(reopened).entries()
    assert (entry.model, entry.status, entry.attempts) == ("fraud", "pending", 0)
    assert entry.request.payload()["version"] == "1"
    assert [e.outcome for e in read_audit(reopened)] == ["queued"]


def test_an_expired_lease_is_taken_over_and_the_old_worker_cannot_finish(outbox: Outbox) -> None:
    outbox.accept(parse_message(message("fraud")), POLICY, dry_run=False, now=100.0)
    first = outbox.claim(lease_seconds=10, now=100.0)
    assert first is not None
    assert outbox.claim(lease_seconds=10, now=105.0) is None  # still leased

    second = outbox.claim(lease_seconds=10, now=111.0)  # the first worker "crashed"
    assert second is not None
    assert second.entry.attempts == 2

    done = Decision("fraud", "retrain", "done", "ok")
    assert outbox.finish(first, status="done", decision=done, now=112.0) is False
    assert outbox.finish(second, status="done", decision=done, now=112.0) is True
    assert outbox.claim(lease_seconds=10, now=200.0) is None
    assert [e.outcome for e in read_audit(outbox.storage)] == ["done", "queued"]


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    rng = random.Random(7)
    delays = [backoff(n, 1.0, 30.0, rng) for n in range(1, 9)]
    for n, delay in enumerate(delays, start=1):
        bound = min(30.0, 2 ** (n - 1))
        assert bound / 2 <= delay <= bound
    assert len(set(delays)) == len(delays)  # jittered
