"""Delivery to Alertmanager: what is due, endsAt, resolution, catch-up after an outage."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from inferwatch.alerts.alertmanager import AlertmanagerClient
from inferwatch.alerts.rules._eval import RuleEvaluator
from inferwatch.alerts.rules._notify import Notifier
from inferwatch.alerts.rules.model import AlertingRule
from inferwatch.promql import Sample

RULE = AlertingRule(name="Drift", expr="x == 1", hold_seconds=10, labels={"action": "retrain"})
FRAUD = [Sample({"model": "fraud"}, 1.0)]


@dataclass
class FakeAlertmanager:
    """Alertmanager's HTTP API at the outermost boundary: records posts, can be 'down'."""

    down: bool = False
    status: int = 200
    posts: list[list[dict[str, Any]]] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.status == 200:
            self.posts.append(json.loads(request.content))
        return httpx.Response(self.status, text="bad alert" if self.status != 200 else "")

    def client(self) -> AlertmanagerClient:
        return AlertmanagerClient("http://am:9093", transport=httpx.MockTransport(self.handler))


@dataclass
class Harness:
    am: FakeAlertmanager = field(default_factory=FakeAlertmanager)
    outcomes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rule = RuleEvaluator(group="g", rule=RULE)
        self.notifier = Notifier(
            [self.am.client()],
            resend_delay=60,
            external_labels={"cluster": "prod", "action": "ignored-when-set"},
            generator_url=lambda expr: f"http://prom/graph?q={expr}",
            on_outcome=lambda o, n: self.outcomes.__setitem__(o, self.outcomes.get(o, 0) + n),
        )

    def step(self, samples: list[Sample], at: float) -> list[dict[str, Any]]:
        before = len(self.am.posts)
        self.rule.apply(samples, at)
        self.notifier.send("g", self.rule.alerts(), at=at, interval=30, exprs={"Drift": "x == 1"})
        return [a for post in self.am.posts[before:] for a in post]


def last_error(h: Harness) -> str | None:
    return h.notifier.targets[0].last_error


def stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_pending_is_not_sent_firing_is_with_ends_at_four_intervals_ahead() -> None:
    h = Harness()
    assert h.step(FRAUD, 0) == []
    (sent,) = h.step(FRAUD, 10)
    assert sent["labels"] == {
        "alertname": "Drift",
        "model": "fraud",
        "action": "retrain",
        "cluster": "prod",
    }, "external labels are added but never override the alert's"
    assert stamp(sent["startsAt"]) == 10
    assert stamp(sent["endsAt"]) == 10 + 4 * 60
    assert sent["generatorURL"] == "http://prom/graph?q=x == 1"
    assert h.outcomes == {"sent": 1}


def test_firing_alert_is_resent_only_after_resend_delay() -> None:
    h = Harness()
    h.step(FRAUD, 0)
    h.step(FRAUD, 10)
    assert h.step(FRAUD, 40) == []
    assert h.step(FRAUD, 70) == []
    (again,) = h.step(FRAUD, 71)
    assert stamp(again["endsAt"]) == 71 + 240


def test_resolution_is_sent_at_once_with_ends_at_resolved_time() -> None:
    h = Harness()
    h.step(FRAUD, 0)
    h.step(FRAUD, 10)
    (resolved,) = h.step([], 20)
    assert stamp(resolved["endsAt"]) == 20
    assert h.step([], 50) == []
    assert len(h.step([], 81)) == 1, "resolutions are re-sent every resend_delay while retained"


def test_outage_keeps_alerts_due_and_catches_up_including_resolution() -> None:
    h = Harness()
    h.step(FRAUD, 0)
    h.am.down = True
    assert h.step(FRAUD, 10) == []
    assert h.step([], 20) == []
    assert h.outcomes == {"failed": 2}
    assert last_error(h)
    h.am.down = False
    (caught_up,) = h.step([], 30)
    assert stamp(caught_up["endsAt"]) == 20, "the resolution, not a stale firing alert"
    assert last_error(h) is None
    assert h.outcomes == {"failed": 2, "sent": 1}


def test_rejected_alerts_are_counted_and_not_retried_in_a_loop() -> None:
    h = Harness()
    h.am.status = 400
    h.step(FRAUD, 0)
    h.step(FRAUD, 10)
    h.step(FRAUD, 20)
    assert h.outcomes == {"rejected": 1}
    assert "bad alert" in (last_error(h) or "")


def test_each_alertmanager_tracks_its_own_deliveries() -> None:
    up, down = FakeAlertmanager(), FakeAlertmanager(down=True)
    rule = RuleEvaluator(group="g", rule=RULE)
    notifier = Notifier([up.client(), down.client()], resend_delay=60)
    rule.apply(FRAUD, 0)
    rule.apply(FRAUD, 10)
    notifier.send("g", rule.alerts(), at=10, interval=30, exprs={})
    down.down = False
    rule.apply(FRAUD, 20)
    notifier.send("g", rule.alerts(), at=20, interval=30, exprs={})
    assert len(up.posts) == 1, "the healthy one is not re-sent before resend_delay"
    assert len(down.posts) == 1, "the one that was down catches up at once"


def test_firing_and_resolution_are_logged_once_each_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness()
    with caplog.at_level(logging.INFO, logger="inferwatch.alerts.rules"):
        h.step(FRAUD, 0)
        h.step(FRAUD, 10)
        h.step(FRAUD, 71)  # a re-send: not logged again
        h.step([], 80)
    logged = [
        (r.levelno, r.getMessage(), r.fields["alertname"], r.fields["model"])  # type: ignore[attr-defined]
        for r in caplog.records
    ]
    assert logged == [
        (logging.INFO, "alert fired", "Drift", "fraud"),
        (logging.INFO, "alert resolved", "Drift", "fraud"),
    ]
