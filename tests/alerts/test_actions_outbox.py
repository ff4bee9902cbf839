"""The outbox on a real store (SQLite and PostgreSQL): decisions, leases, backoff."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry

from inferwatch.alerts.actions._audit import ActionsMetrics, Decision, read_audit
from inferwatch.alerts.actions._outbox import Outbox, backoff
from inferwatch.alerts.actions._payload import parse_message
from inferwatch.alerts.actions._policy import parse_policy
from inferwatch.alerts.actions._worker import Deliverer
from inferwatch.alerts.actions.settings import ActionsSettings
from inferwatch.alerts.actions.targets import ActionRequest, ActionResult, TargetError
from inferwatch.storage import open_storage
from inferwatch.testing.actions import webhook_alert, webhook_message

POLICY = parse_policy(
    "version: 1\nactions:\n  retrain: {target: ci, cooldown_seconds: 0}\n"
    "targets:\n  ci: {type: webhook, url: 'http://127.0.0.1:9/hook'}\n"
)


@pytest.fixture
def outbox(store_url: str) -> Outbox:
    store = open_storage(store_url)
    store.migrate()
    return Outbox(store)


def message(*models: str) -> bytes:
    return json.dumps(webhook_message([webhook_alert(m) for m in models])).encode()


def test_accept_survives_reopening_the_store(store_url: str, outbox: Outbox) -> None:
    outbox.accept(parse_message(message("fraud")), POLICY, dry_run=False, now=100.0)
    outbox.storage.close()

    reopened = open_storage(store_url)
    assert reopened.migrate() == []  # idempotent: nothing new to apply
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


def _replicas(store_url: str, n: int) -> list[Outbox]:
    """N outboxes on their own connections to one store, as N replicas have."""
    outboxes = [Outbox(open_storage(store_url)) for _ in range(n)]
    outboxes[0].storage.migrate()
    return outboxes


def _together(n: int, work: Callable[[int], None]) -> None:
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def test_one_episode_reaching_every_replica_is_queued_once(store_url: str) -> None:
    replicas = _replicas(store_url, 4)
    outcomes: list[str] = []
    body = parse_message(message("fraud"))
    _together(
        4,
        lambda i: outcomes.extend(
            d.outcome for d in replicas[i].accept(body, POLICY, dry_run=False, now=100.0)
        ),
    )
    assert sorted(outcomes) == ["deduplicated"] * 3 + ["queued"]
    assert len(replicas[0].entries()) == 1
    for r in replicas:
        r.storage.close()


def test_cooldown_and_hourly_cap_count_every_replicas_rows(store_url: str) -> None:
    policy = parse_policy(
        "version: 1\nmax_actions_per_hour: 2\nactions:\n"
        "  retrain: {target: ci, cooldown_seconds: 600}\n"
        "targets:\n  ci: {type: webhook, url: 'http://127.0.0.1:9/hook'}\n"
    )
    replicas = _replicas(store_url, 3)
    outcomes: list[str] = []
    alerts = [  # distinct episodes of one model, then of two others
        parse_message(
            json.dumps(webhook_message([webhook_alert("fraud", fingerprint=f"f{i}")])).encode()
        )
        for i in range(3)
    ]
    _together(
        3,
        lambda i: outcomes.extend(
            d.outcome for d in replicas[i].accept(alerts[i], policy, dry_run=False, now=100.0)
        ),
    )
    assert sorted(outcomes) == ["cooled_down", "cooled_down", "queued"]
    others = [parse_message(message(m)) for m in ("churn", "spam")]
    assert [replicas[1].accept(o, policy, dry_run=False, now=101.0)[0].outcome for o in others] == [
        "queued",
        "rate_limited",
    ]
    for r in replicas:
        r.storage.close()


def test_replicas_claim_each_due_row_once(store_url: str) -> None:
    replicas = _replicas(store_url, 4)
    for i in range(12):
        replicas[0].accept(parse_message(message(f"m{i}")), POLICY, dry_run=False, now=100.0)
    claimed: list[int] = []
    lock = threading.Lock()

    def drain(i: int) -> None:
        while (claim := replicas[i].claim(lease_seconds=60, now=101.0)) is not None:
            with lock:
                claimed.append(claim.entry.id)

    _together(4, drain)
    assert sorted(claimed) == sorted({e.id for e in replicas[0].entries()})
    assert len(claimed) == 12
    for r in replicas:
        r.storage.close()


class AsksToWait:
    """A target that answers like a 429 with ``Retry-After``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def execute(self, request: ActionRequest) -> ActionResult:
        raise TargetError("POST /hook answered 429: busy", retryable=True, retry_after=self.seconds)


@pytest.mark.parametrize(
    ("retry_after", "waited"),
    [pytest.param(120.0, 120.0, id="as-asked"), pytest.param(9999.0, 300.0, id="capped")],
)
def test_a_retry_waits_for_the_targets_retry_after_up_to_the_ceiling(
    outbox: Outbox, retry_after: float, waited: float
) -> None:
    outbox.accept(parse_message(message("fraud")), POLICY, dry_run=False, now=100.0)
    settings = ActionsSettings(backoff_initial_seconds=1.0, backoff_max_seconds=300.0)
    metrics = ActionsMetrics(CollectorRegistry(), outbox.storage)
    deliverer = Deliverer(
        outbox, {"ci": AsksToWait(retry_after)}, settings, metrics, clock=lambda: 100.0
    )
    assert deliverer.run_once()
    (entry,) = outbox.entries()
    assert entry.status == "pending" and entry.next_attempt_at == 100.0 + waited
    assert "retry in" in read_audit(outbox.storage)[0].detail
