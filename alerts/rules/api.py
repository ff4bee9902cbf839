"""Routes under ``/rules``: the groups, their rules' health, and the alerts they hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from inferwatch.alerts.rules._engine import RulesEngine
from inferwatch.alerts.rules._eval import AlertSnapshot, GroupEvaluator
from inferwatch.alerts.rules._template_funcs import go_float


class AlertOut(BaseModel):
    """One alert the rules service holds."""

    group: str
    rule: str
    state: Literal["pending", "firing", "inactive"]
    labels: dict[str, str]
    annotations: dict[str, str]
    value: str
    """As Go prints it (``"1"``, ``"0.25"``, ``"NaN"``): JSON has no NaN or infinities."""
    active_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None


class RuleOut(BaseModel):
    """One alerting rule, its latest evaluation and its alerts."""

    name: str
    query: str
    for_seconds: float
    keep_firing_for_seconds: float
    labels: dict[str, str]
    annotations: dict[str, str]
    state: Literal["pending", "firing", "inactive"]
    health: Literal["ok", "err", "unknown"]
    last_error: str | None
    last_evaluation: datetime | None
    evaluation_seconds: float
    alerts: list[AlertOut]


class GroupOut(BaseModel):
    """One rule group."""

    name: str
    file: str
    interval_seconds: float
    rules: list[RuleOut]


class RulesStatusOut(BaseModel):
    """Whether the service evaluates at all, and where it sends alerts."""

    evaluating: bool
    alertmanagers: list[dict[str, str | None]]


def _time(stamp: float | None) -> datetime | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC)


def _iso(stamp: float | None) -> str | None:
    moment = _time(stamp)
    return None if moment is None else moment.isoformat()


def alert_out(alert: AlertSnapshot) -> AlertOut:
    """The API shape of an alert."""
    return AlertOut(
        group=alert.group,
        rule=alert.rule,
        state=alert.state.value,
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        value=go_float(alert.value),
        active_at=datetime.fromtimestamp(alert.active_at, UTC),
        fired_at=_time(alert.fired_at),
        resolved_at=_time(alert.resolved_at),
    )


def group_out(group: GroupEvaluator) -> GroupOut:
    """The API shape of a group."""
    alerts = group.alerts()
    rules = []
    for evaluator in group.evaluators:
        rule = evaluator.rule
        rules.append(
            RuleOut(
                name=rule.name,
                query=rule.expr,
                for_seconds=rule.hold_seconds,
                keep_firing_for_seconds=rule.keep_firing_seconds,
                labels=dict(rule.labels),
                annotations=dict(rule.annotations),
                state=evaluator.state().value,
                health=evaluator.status.health,
                last_error=evaluator.status.last_error,
                last_evaluation=_time(evaluator.status.last_evaluation),
                evaluation_seconds=evaluator.status.evaluation_seconds,
                alerts=[alert_out(a) for a in alerts if a.rule == rule.name],
            )
        )
    return GroupOut(
        name=group.group.name, file=group.group.source, interval_seconds=group.interval, rules=rules
    )


def build_router(engine: RulesEngine) -> APIRouter:
    """The ``/rules`` routes over ``engine``."""
    router = APIRouter(prefix="/rules", tags=["rules"])

    @router.get("/groups", summary="Every rule group with its rules' health and alerts.")
    def list_groups() -> list[GroupOut]:
        return [group_out(g) for g in engine.groups.values()]

    @router.get(
        "/groups/{name}",
        summary="One rule group.",
        responses={404: {"description": "No group of that name."}},
    )
    def get_group(name: str) -> GroupOut:
        return group_out(engine.group(name))

    @router.get("/alerts", summary="Alerts the rules hold (pending, firing, recently resolved).")
    def list_alerts(
        state: Annotated[
            Literal["pending", "firing", "inactive"] | None,
            Query(description="Only alerts in this state."),
        ] = None,
    ) -> list[AlertOut]:
        alerts = [a for g in engine.groups.values() for a in g.alerts()]
        return [alert_out(a) for a in alerts if state is None or a.state.value == state]

    @router.get("/status", summary="Whether rules are evaluated, and the Alertmanagers' state.")
    def status() -> RulesStatusOut:
        from inferwatch.httputil import redact_url

        return RulesStatusOut(
            evaluating=engine.query is not None,
            alertmanagers=[
                {
                    "url": redact_url(t.client.base_url),
                    "last_error": t.last_error,
                    "last_success": _iso(t.last_success),
                }
                for t in engine.notifier.targets
            ],
        )

    return router
