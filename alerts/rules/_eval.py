"""Alerting-rule evaluation with Prometheus's state machine.

Each evaluation of a rule takes the query's instant vector at time ``at`` and:

- turns every sample into an alert: the sample's labels minus ``__name__``, plus the
  rule's (templated) labels, plus ``alertname``; labels whose value renders empty are
  dropped; annotations are templated with ``$labels`` (the sample's labels) and ``$value``;
- a new alert starts ``pending`` at ``at``; it turns ``firing`` once it has been active for
  the rule's ``for`` (immediately when ``for`` is 0);
- an alert whose sample disappears: a ``firing`` one with ``keep_firing_for`` stays firing
  until it has been absent that long; otherwise a ``pending`` one is dropped and a
  ``firing`` one turns ``inactive`` with ``resolved_at = at`` and is kept for
  ``resolved_retention`` seconds, so that the resolution can be (re)sent;
- a query error leaves every alert as it was and marks the rule unhealthy;
- two samples that give the same label set, or more alerts than the group's ``limit``,
  are errors (the latter clears the rule's alerts, as Prometheus does).

Time is passed in (seconds since the epoch), never read, so tests drive it.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from inferwatch.alerts.rules._template import TemplateError
from inferwatch.alerts.rules.model import AlertingRule, RuleGroup
from inferwatch.errors import InferwatchError
from inferwatch.promql import Sample  # the one PromQL sample type

RESOLVED_RETENTION_SECONDS = 15 * 60.0


class RuleEvaluationError(InferwatchError):
    """A rule's result could not be turned into alerts (duplicate label sets, limit, template)."""


class AlertState(enum.StrEnum):
    """Where an alert is in its life."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@dataclass(frozen=True)
class AlertSnapshot:
    """An alert as it stands after an evaluation; safe to hand to other threads."""

    group: str
    rule: str
    fingerprint: tuple[tuple[str, str], ...]
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    state: AlertState
    value: float
    active_at: float
    fired_at: float | None
    resolved_at: float | None
    keep_firing_since: float | None


@dataclass
class _Alert:
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float
    active_at: float
    state: AlertState = AlertState.PENDING
    fired_at: float | None = None
    resolved_at: float | None = None
    keep_firing_since: float | None = None


@dataclass
class RuleStatus:
    """Health of a rule's latest evaluation."""

    health: Literal["ok", "err", "unknown"] = "unknown"
    last_error: str | None = None
    last_evaluation: float | None = None
    evaluation_seconds: float = 0.0


@dataclass
class RuleEvaluator:
    """One alerting rule's state across evaluations."""

    group: str
    rule: AlertingRule
    limit: int = 0
    external_url: str = ""
    external_labels: Mapping[str, str] = field(default_factory=dict)
    resolved_retention: float = RESOLVED_RETENTION_SECONDS
    status: RuleStatus = field(default_factory=RuleStatus)
    _active: dict[tuple[tuple[str, str], ...], _Alert] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._label_templates = self.rule.label_templates()
        self._annotation_templates = self.rule.annotation_templates()

    def apply(self, samples: Sequence[Sample], at: float) -> None:
        """Advance the state machine with the query result at time ``at``."""
        try:
            current = self._alerts_from(samples)
        except RuleEvaluationError as exc:
            self.fail(str(exc), at)
            return
        if self.limit and len(current) > self.limit:
            self._active.clear()
            self.fail(f"exceeded limit of {self.limit} with {len(current)} alerts", at)
            return
        for key, fresh in current.items():
            known = self._active.get(key)
            if known is not None and known.state is not AlertState.INACTIVE:
                known.value, known.annotations = fresh.value, fresh.annotations
                known.keep_firing_since = None
                continue
            fresh.active_at = at
            self._active[key] = fresh
        for key, alert in list(self._active.items()):
            if key in current:
                continue
            if self._keeps_firing(alert, at):
                continue
            if alert.state is AlertState.PENDING or (
                alert.resolved_at is not None and at - alert.resolved_at > self.resolved_retention
            ):
                del self._active[key]
                continue
            if alert.state is not AlertState.INACTIVE:
                alert.state, alert.resolved_at, alert.keep_firing_since = (
                    AlertState.INACTIVE,
                    at,
                    None,
                )
        for alert in self._active.values():
            if alert.state is AlertState.PENDING and at - alert.active_at >= self.rule.hold_seconds:
                alert.state, alert.fired_at = AlertState.FIRING, at
        self.status.health, self.status.last_error, self.status.last_evaluation = "ok", None, at

    def restore(self, alerts: Iterable[AlertSnapshot]) -> None:
        """Replace the rule's alerts with those an earlier run or leader saved
        (``rules._store``)."""
        self._active.clear()
        for alert in alerts:
            if alert.rule != self.rule.name:
                continue
            self._active[alert.fingerprint] = _Alert(
                labels=dict(alert.labels),
                annotations=dict(alert.annotations),
                value=alert.value,
                active_at=alert.active_at,
                state=alert.state,
                fired_at=alert.fired_at,
                resolved_at=alert.resolved_at,
                keep_firing_since=alert.keep_firing_since,
            )

    def fail(self, message: str, at: float) -> None:
        """Record a failed evaluation; alerts keep their state."""
        self.status.health, self.status.last_error, self.status.last_evaluation = "err", message, at

    def alerts(self) -> list[AlertSnapshot]:
        """Every alert the rule holds (pending, firing, and resolved within retention)."""
        return [
            AlertSnapshot(
                group=self.group,
                rule=self.rule.name,
                fingerprint=key,
                labels=dict(a.labels),
                annotations=dict(a.annotations),
                state=a.state,
                value=a.value,
                active_at=a.active_at,
                fired_at=a.fired_at,
                resolved_at=a.resolved_at,
                keep_firing_since=a.keep_firing_since,
            )
            for key, a in sorted(self._active.items())
        ]

    def state(self) -> AlertState:
        """The rule's state: firing if any alert fires, else pending if any is pending."""
        states = {a.state for a in self._active.values()}
        for candidate in (AlertState.FIRING, AlertState.PENDING):
            if candidate in states:
                return candidate
        return AlertState.INACTIVE

    def _keeps_firing(self, alert: _Alert, at: float) -> bool:
        if alert.state is not AlertState.FIRING or self.rule.keep_firing_seconds <= 0:
            return False
        if alert.keep_firing_since is None:
            alert.keep_firing_since = at
        return at - alert.keep_firing_since < self.rule.keep_firing_seconds

    def _alerts_from(self, samples: Sequence[Sample]) -> dict[tuple[tuple[str, str], ...], _Alert]:
        out: dict[tuple[tuple[str, str], ...], _Alert] = {}
        for sample in samples:
            sample_labels = dict(sample.labels)
            try:
                extra = {
                    k: self._render(t.render, sample_labels, sample.value)
                    for k, t in self._label_templates.items()
                }
                annotations = {
                    k: self._render(t.render, sample_labels, sample.value)
                    for k, t in self._annotation_templates.items()
                }
            except TemplateError as exc:
                raise RuleEvaluationError(f"template: {exc}") from exc
            labels = {k: v for k, v in sample_labels.items() if k != "__name__"}
            labels.update(extra)
            labels["alertname"] = self.rule.name
            labels = {k: v for k, v in labels.items() if v != ""}
            key = tuple(sorted(labels.items()))
            if key in out:
                raise RuleEvaluationError(
                    "vector contains metrics with the same labelset after applying alert labels"
                )
            out[key] = _Alert(
                labels=labels, annotations=annotations, value=sample.value, active_at=0.0
            )
        return out

    def _render(self, render: Callable[..., str], labels: Mapping[str, str], value: float) -> str:
        return render(
            labels=labels,
            value=value,
            external_url=self.external_url,
            external_labels=self.external_labels,
        )


QueryFunction = Callable[[str, float], Sequence[Sample]]
"""``query(expr, at)``: an instant query; raises on failure."""


@dataclass
class GroupEvaluator:
    """All rules of one group, evaluated in order at the same timestamp."""

    group: RuleGroup
    evaluators: list[RuleEvaluator]
    interval: float
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(
        cls,
        group: RuleGroup,
        *,
        default_interval: float,
        external_url: str = "",
        external_labels: Mapping[str, str] | None = None,
        resolved_retention: float = RESOLVED_RETENTION_SECONDS,
    ) -> GroupEvaluator:
        """Evaluators for each rule of ``group``."""
        return cls(
            group=group,
            interval=group.interval_seconds or default_interval,
            evaluators=[
                RuleEvaluator(
                    group=group.name,
                    rule=rule,
                    limit=group.limit,
                    external_url=external_url,
                    external_labels=dict(external_labels or {}),
                    resolved_retention=resolved_retention,
                )
                for rule in group.rules
            ],
        )

    def evaluate(self, query: QueryFunction, at: float, clock: Callable[[], float]) -> int:
        """Query every rule at ``at``, then apply the results; returns how many rules failed.

        Queries run outside the lock, so readers (the HTTP routes) never wait on the network.
        """
        results: list[tuple[RuleEvaluator, Sequence[Sample] | InferwatchError, float]] = []
        for evaluator in self.evaluators:
            started = clock()
            outcome: Sequence[Sample] | InferwatchError
            try:
                outcome = query(evaluator.rule.expr, at)
            except InferwatchError as exc:
                outcome = exc
            results.append((evaluator, outcome, clock() - started))
        failures = 0
        with self.lock:
            for evaluator, outcome, elapsed in results:
                if isinstance(outcome, InferwatchError):
                    evaluator.fail(str(outcome), at)
                else:
                    evaluator.apply(outcome, at)
                evaluator.status.evaluation_seconds = elapsed
                failures += evaluator.status.health == "err"
        return failures

    def alerts(self) -> list[AlertSnapshot]:
        """Every alert of every rule in the group."""
        with self.lock:
            return [a for e in self.evaluators for a in e.alerts()]
