"""The rules engine: groups, their query endpoint, the notifier and the service's own metrics.

Synchronous and clock-injected, so tests can drive one evaluation at a time; the
part (``rules.service``) runs it on a schedule in worker threads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import quote

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pydantic import SecretStr

from inferwatch.alerts.alertmanager import AlertmanagerClient
from inferwatch.alerts.rules._eval import AlertState, GroupEvaluator, QueryFunction
from inferwatch.alerts.rules._notify import Notifier
from inferwatch.alerts.rules._query import PrometheusQueryClient
from inferwatch.alerts.rules._store import AlertStore
from inferwatch.alerts.rules.model import RuleGroup, default_rule_files, load_rule_files
from inferwatch.errors import NotFoundError, StorageError
from inferwatch.settings import Settings

log = logging.getLogger("inferwatch.alerts.rules")


class RulesMetrics:
    """Counters the engine updates; gauges are read from the engine at scrape time."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.evaluations = Counter(
            "inferwatch_rules_evaluations_total",
            "Rule group evaluations.",
            ["group"],
            registry=registry,
        )
        self.failures = Counter(
            "inferwatch_rules_evaluation_failures_total",
            "Rule evaluations that failed (query error, bad result, template error).",
            ["group"],
            registry=registry,
        )
        self.missed = Counter(
            "inferwatch_rules_iterations_missed_total",
            "Group evaluations skipped because the previous one ran past its interval.",
            ["group"],
            registry=registry,
        )
        self.notifications = Counter(
            "inferwatch_rules_notifications_total",
            "Alerts posted to Alertmanager, by outcome (sent, failed, rejected).",
            ["outcome"],
            registry=registry,
        )
        for outcome in ("sent", "failed", "rejected"):
            self.notifications.labels(outcome)


class _StateCollector(Collector):
    """``inferwatch_rules_alerts`` and per-group timing, built fresh on each scrape."""

    def __init__(self, engine: RulesEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterable[Metric]:
        alerts = GaugeMetricFamily(
            "inferwatch_rules_alerts",
            "Alerts held by the rules service, by alert name and state.",
            labels=["alertname", "state"],
        )
        last = GaugeMetricFamily(
            "inferwatch_rules_group_last_evaluation_timestamp_seconds",
            "When each group was last evaluated.",
            labels=["group"],
        )
        duration = GaugeMetricFamily(
            "inferwatch_rules_group_last_duration_seconds",
            "How long each group's last evaluation took.",
            labels=["group"],
        )
        for group in self.engine.groups.values():
            counts: dict[tuple[str, str], int] = {}
            for rule in group.group.rules:
                for kind in AlertState:
                    counts[(rule.name, kind.value)] = 0
            for alert in group.alerts():
                counts[(alert.rule, alert.state.value)] += 1
            for (name, state), count in sorted(counts.items()):
                alerts.add_metric([name, state], count)
            stamps = [e.status.last_evaluation for e in group.evaluators]
            done = [s for s in stamps if s is not None]
            if done:
                last.add_metric([group.group.name], max(done))
            duration.add_metric(
                [group.group.name], sum(e.status.evaluation_seconds for e in group.evaluators)
            )
        return [alerts, last, duration]


class RulesEngine:
    """Evaluates groups against one query function and hands due alerts to the notifier."""

    def __init__(
        self,
        groups: Sequence[RuleGroup],
        *,
        query: QueryFunction | None,
        notifier: Notifier,
        registry: CollectorRegistry,
        default_interval: float = 60.0,
        external_url: str = "",
        resolved_retention: float = 900.0,
        store: AlertStore | None = None,
        restore_tolerance: float = 3600.0,
        clock: Callable[[], float] = time.time,
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        self.groups = {
            g.name: GroupEvaluator.build(
                g,
                default_interval=default_interval,
                external_url=external_url,
                external_labels=notifier.external_labels,
                resolved_retention=resolved_retention,
            )
            for g in groups
        }
        self.query = query
        self.notifier = notifier
        self.store = store
        self.restore_tolerance = restore_tolerance
        self._on_close = on_close
        self.clock = clock
        self.metrics = RulesMetrics(registry)
        registry.register(_StateCollector(self))
        for name in self.groups:
            self.metrics.evaluations.labels(name)
            self.metrics.failures.labels(name)
        notifier.on_outcome = lambda outcome, n: self.metrics.notifications.labels(outcome).inc(n)

    def group(self, name: str) -> GroupEvaluator:
        """The named group, or a 404-mapped ``NotFoundError``."""
        try:
            return self.groups[name]
        except KeyError:
            raise NotFoundError(f"no rule group named {name!r}") from None

    def evaluate(self, name: str, at: float | None = None) -> None:
        """Evaluate group ``name`` at ``at`` (default now) and notify Alertmanager."""
        group = self.group(name)
        if self.query is None:
            return
        at = self.clock() if at is None else at
        failures = group.evaluate(self.query, at, self.clock)
        self.metrics.evaluations.labels(name).inc()
        if failures:
            self.metrics.failures.labels(name).inc(failures)
            for evaluator in group.evaluators:
                if evaluator.status.last_error:
                    log.warning(
                        "rule %s/%s failed: %s",
                        name,
                        evaluator.rule.name,
                        evaluator.status.last_error,
                    )
        alerts = group.alerts()
        if self.store is not None:
            try:
                self.store.save(name, alerts, at)
            except StorageError:
                log.exception("could not save the alerts of rule group %s", name)
        exprs = {e.rule.name: e.rule.expr for e in group.evaluators}
        self.notifier.send(name, alerts, at=at, interval=group.interval, exprs=exprs)

    def restore(self) -> int:
        """Load saved alert state into the evaluators; returns how many alerts came back."""
        if self.store is None:
            return 0
        now = self.clock()
        self.store.forget(self.groups)
        restored = 0
        for name, group in self.groups.items():
            saved = self.store.load(name, now, self.restore_tolerance)
            with group.lock:
                for evaluator in group.evaluators:
                    evaluator.restore(saved)
            restored += len(saved)
        return restored

    def close(self) -> None:
        """Release the query and Alertmanager connections."""
        self._on_close()
        self.notifier.close()


def build_engine(
    settings: Settings,
    registry: CollectorRegistry,
    *,
    query: QueryFunction | None = None,
    groups: Sequence[RuleGroup] | None = None,
    store: AlertStore | None = None,
    clock: Callable[[], float] = time.time,
) -> RulesEngine:
    """An engine from settings: rule files, query endpoint, Alertmanagers, labels."""
    rules = settings.alerts.rules
    if groups is None:
        files = (default_rule_files() if rules.include_default_rules else []) + list(
            rules.rule_files
        )
        groups = load_rule_files(files)
    on_close: Callable[[], None] = _nothing
    if query is None and rules.query_url:
        client = PrometheusQueryClient(
            rules.query_url,
            timeout=rules.query_timeout_seconds,
            bearer_token=_secret(rules.query_bearer_token),
        )
        query, on_close = client.query, client.close
    urls = ([settings.alerts.alertmanager_url] if settings.alerts.alertmanager_url else []) + list(
        rules.alertmanager_urls
    )
    clients = [
        AlertmanagerClient(
            url,
            timeout=rules.alertmanager_timeout_seconds,
            bearer_token=_secret(rules.alertmanager_bearer_token),
            retries=rules.alertmanager_retries,
        )
        for url in dict.fromkeys(u.rstrip("/") for u in urls)
    ]
    graph = rules.graph_url or rules.query_url
    notifier = Notifier(
        clients,
        resend_delay=rules.resend_delay_seconds,
        external_labels=rules.external_labels,
        generator_url=(lambda expr: f"{graph}/graph?g0.expr={quote(expr)}&g0.tab=1")
        if graph
        else (lambda expr: None),
    )
    return RulesEngine(
        groups,
        query=query,
        notifier=notifier,
        registry=registry,
        default_interval=rules.evaluation_interval_seconds,
        external_url=rules.external_url or settings.server.base_url(),
        resolved_retention=rules.resolved_retention_seconds,
        store=store,
        restore_tolerance=rules.restore_tolerance_seconds,
        clock=clock,
        on_close=on_close,
    )


def _nothing() -> None:
    """Nothing to release."""


def _secret(token: SecretStr | None) -> str | None:
    return token.get_secret_value() if token is not None else None
