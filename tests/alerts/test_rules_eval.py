"""The alert state machine: pending, firing, for, keep_firing_for, resolution, errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from inferwatch.alerts.rules._eval import (
    AlertState,
    GroupEvaluator,
    RuleEvaluator,
)
from inferwatch.alerts.rules._query import QueryError
from inferwatch.alerts.rules.model import AlertingRule, RuleGroup
from inferwatch.promql import Sample


def rule(hold: float = 0.0, keep: float = 0.0, **labels: str) -> AlertingRule:
    return AlertingRule(
        name="Drift",
        expr="inferwatch_drift_dataset_detected == 1",
        hold_seconds=hold,
        keep_firing_seconds=keep,
        labels={"severity": "warning", "model": "{{ $labels.model }}", **labels},
        annotations={
            "summary": "{{ $labels.model }} drifted ({{ $value }})",
            "report_url": "{{ $externalURL }}/drift/models/{{ $labels.model }}/report",
        },
    )


DRIFT = [Sample({"__name__": "inferwatch_drift_dataset_detected", "model": "fraud"}, 1.0)]


def states(evaluator: RuleEvaluator) -> list[str]:
    return [a.state.value for a in evaluator.alerts()]


def test_alert_goes_pending_then_fires_after_for() -> None:
    ev = RuleEvaluator(group="g", rule=rule(hold=60), external_url="http://iw")
    ev.apply(DRIFT, at=1000)
    (alert,) = ev.alerts()
    assert alert.state is AlertState.PENDING and alert.active_at == 1000
    assert alert.labels == {
        "alertname": "Drift",
        "model": "fraud",
        "severity": "warning",
    }, "__name__ is dropped, rule labels and alertname are added"
    assert alert.annotations == {
        "summary": "fraud drifted (1)",
        "report_url": "http://iw/drift/models/fraud/report",
    }
    ev.apply(DRIFT, at=1059)
    assert states(ev) == ["pending"]
    ev.apply(DRIFT, at=1060)
    (alert,) = ev.alerts()
    assert alert.state is AlertState.FIRING and alert.fired_at == 1060
    assert ev.state() is AlertState.FIRING


def test_zero_for_fires_on_first_evaluation() -> None:
    ev = RuleEvaluator(group="g", rule=rule())
    ev.apply(DRIFT, at=5)
    assert states(ev) == ["firing"]


def test_pending_alert_that_disappears_is_dropped_and_restarts_its_clock() -> None:
    ev = RuleEvaluator(group="g", rule=rule(hold=60))
    ev.apply(DRIFT, at=0)
    ev.apply([], at=30)
    assert ev.alerts() == []
    ev.apply(DRIFT, at=40)
    ev.apply(DRIFT, at=90)
    assert states(ev) == ["pending"], "active_at restarted at 40"
    ev.apply(DRIFT, at=100)
    assert states(ev) == ["firing"]


def test_firing_alert_resolves_and_is_retained_then_forgotten() -> None:
    ev = RuleEvaluator(group="g", rule=rule(), resolved_retention=900)
    ev.apply(DRIFT, at=0)
    ev.apply([], at=10)
    (alert,) = ev.alerts()
    assert alert.state is AlertState.INACTIVE and alert.resolved_at == 10
    ev.apply([], at=900)
    assert len(ev.alerts()) == 1
    ev.apply([], at=911)
    assert ev.alerts() == []


def test_resolved_alert_that_returns_starts_over_as_pending() -> None:
    ev = RuleEvaluator(group="g", rule=rule(hold=30))
    ev.apply(DRIFT, at=0)
    ev.apply(DRIFT, at=30)
    ev.apply([], at=40)
    ev.apply(DRIFT, at=50)
    (alert,) = ev.alerts()
    assert alert.state is AlertState.PENDING and alert.active_at == 50
    assert alert.resolved_at is None


def test_keep_firing_for_holds_then_resolves() -> None:
    ev = RuleEvaluator(group="g", rule=rule(keep=60))
    ev.apply(DRIFT, at=0)
    ev.apply([], at=10)
    (alert,) = ev.alerts()
    assert alert.state is AlertState.FIRING and alert.keep_firing_since == 10
    ev.apply([], at=69)
    assert states(ev) == ["firing"]
    ev.apply([], at=70)
    (alert,) = ev.alerts()
    assert alert.state is AlertState.INACTIVE and alert.resolved_at == 70


def test_keep_firing_for_resets_when_the_condition_returns() -> None:
    ev = RuleEvaluator(group="g", rule=rule(keep=60))
    ev.apply(DRIFT, at=0)
    ev.apply([], at=10)
    ev.apply(DRIFT, at=50)
    assert ev.alerts()[0].keep_firing_since is None
    ev.apply([], at=100)
    ev.apply([], at=150)
    assert states(ev) == ["firing"], "the 60s started again at 100"


def test_keep_firing_for_does_not_hold_pending_alerts() -> None:
    ev = RuleEvaluator(group="g", rule=rule(hold=60, keep=60))
    ev.apply(DRIFT, at=0)
    ev.apply([], at=10)
    assert ev.alerts() == []


def test_value_and_annotations_follow_the_latest_sample() -> None:
    ev = RuleEvaluator(group="g", rule=rule())
    ev.apply([Sample({"model": "fraud"}, 2.0)], at=0)
    ev.apply([Sample({"model": "fraud"}, 5.0)], at=1)
    (alert,) = ev.alerts()
    assert alert.value == 5.0 and alert.annotations["summary"] == "fraud drifted (5)"
    assert alert.active_at == 0


def test_duplicate_label_sets_are_an_error_that_keeps_state() -> None:
    ev = RuleEvaluator(group="g", rule=rule())
    ev.apply(DRIFT, at=0)
    duplicate = [Sample({"model": "fraud", "__name__": "a"}, 1), Sample({"model": "fraud"}, 1)]
    ev.apply(duplicate, at=1)
    assert ev.status.health == "err" and "same labelset" in (ev.status.last_error or "")
    assert states(ev) == ["firing"]


def test_limit_exceeded_clears_the_rules_alerts() -> None:
    ev = RuleEvaluator(group="g", rule=rule(), limit=1)
    ev.apply(DRIFT, at=0)
    ev.apply([Sample({"model": "a"}, 1), Sample({"model": "b"}, 1)], at=1)
    assert ev.alerts() == [] and "limit" in (ev.status.last_error or "")


def test_empty_label_values_are_dropped() -> None:
    ev = RuleEvaluator(group="g", rule=rule())
    ev.apply([Sample({"gpu": "0"}, 1.0)], at=0)
    assert "model" not in ev.alerts()[0].labels


def test_template_failure_is_a_rule_error() -> None:
    bad = AlertingRule(name="X", expr="up", annotations={"s": "{{ humanize $labels.job }}"})
    ev = RuleEvaluator(group="g", rule=bad)
    ev.apply([Sample({"job": "api"}, 1)], at=0)
    assert ev.status.health == "err" and "template" in (ev.status.last_error or "")


@dataclass
class ScriptedQuery:
    results: dict[str, Sequence[Sample] | Exception] = field(default_factory=dict)
    calls: list[tuple[str, float]] = field(default_factory=list)

    def __call__(self, expr: str, at: float) -> Sequence[Sample]:
        self.calls.append((expr, at))
        result = self.results[expr]
        if isinstance(result, Exception):
            raise result
        return result


def test_group_query_failure_keeps_alerts_and_marks_only_that_rule() -> None:
    good = rule()
    other = AlertingRule(name="Other", expr="up == 0")
    group = GroupEvaluator.build(RuleGroup("g", (good, other)), default_interval=30)
    assert group.interval == 30
    query = ScriptedQuery({good.expr: DRIFT, other.expr: []})
    assert group.evaluate(query, 100, clock=lambda: 0.0) == 0
    query.results[good.expr] = QueryError("prometheus down")
    assert group.evaluate(query, 130, clock=lambda: 0.0) == 1
    first, second = group.evaluators
    assert first.status.health == "err" and first.status.last_error == "prometheus down"
    assert second.status.health == "ok"
    assert [a.state for a in group.alerts()] == [AlertState.FIRING]
    assert query.calls[-2:] == [(good.expr, 130), (other.expr, 130)]


@pytest.mark.parametrize("interval", [None, 5.0])
def test_group_interval_defaults(interval: float | None) -> None:
    group = GroupEvaluator.build(RuleGroup("g", (), interval_seconds=interval), default_interval=60)
    assert group.interval == (interval or 60)
