"""Alerts and actions: alerts by state, notifications, actions done, deduplicated, failed."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from inferwatch.dashboards.panels import base, graph, single

UID = "inferwatch-alerts-actions"
SEL = 'namespace=~"$namespace"'
MSEL = 'namespace=~"$namespace", model=~"$model"'


def build() -> Dashboard:
    """The alerts and actions dashboard."""
    return (
        base(
            UID,
            "inferwatch / Alerts and actions",
            "What fired, and what inferwatch did about it.",
            "inferwatch_actions_total",
        )
        .with_row(Row("Alerts"))
        .with_panel(
            single(
                "Firing alerts",
                (f'sum(inferwatch_rules_alerts{{{SEL}, state="firing"}}) or vector(0)', "firing"),
            )
        )
        .with_panel(
            single(
                "Actions failed",
                (
                    f'sum(inferwatch_actions_total{{{MSEL}, outcome="failed"}}) or vector(0)',
                    "failed",
                ),
                description="Actions that exhausted their retries since the receiver started (the audit log says which).",
            )
        )
        .with_panel(
            single(
                "Outbox pending", (f"sum(inferwatch_actions_outbox_pending{{{SEL}}})", "pending")
            )
        )
        .with_panel(
            single(
                "Rule evaluation failures (range)",
                (
                    f"sum(increase(inferwatch_rules_evaluation_failures_total{{{SEL}}}[$__range])) or vector(0)",
                    "failures",
                ),
            )
        )
        .with_panel(
            graph(
                "Alerts by state",
                [
                    (
                        f"sum by (alertname, state) (inferwatch_rules_alerts{{{SEL}}})",
                        "{{alertname}} {{state}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Notifications to Alertmanager",
                [
                    (
                        f"sum by (outcome) (increase(inferwatch_rules_notifications_total{{{SEL}}}[$__rate_interval]))",
                        "{{outcome}}",
                    )
                ],
            )
        )
        .with_row(Row("Actions"))
        .with_panel(
            graph(
                "Actions by outcome",
                [
                    (
                        f"sum by (action, outcome) (inferwatch_actions_total{{{MSEL}}})",
                        "{{action}} {{outcome}}",
                    )
                ],
                width=24,
                description="Decisions since the receiver started: done, deduplicated, cooled_down, dry_run, rate_limited, ignored, failed. Totals, not increase(): an action is rare, and a counter born at 1 shows no increase.",
            )
        )
        .with_panel(
            graph(
                "Actions per model",
                [
                    (
                        f'sum by (model, action) (inferwatch_actions_total{{{MSEL}, outcome="done"}})',
                        "{{model}} {{action}}",
                    )
                ],
            )
        )
        .with_panel(
            graph(
                "Outbox backlog",
                [(f"sum(inferwatch_actions_outbox_pending{{{SEL}}})", "pending")],
            )
        )
    )
