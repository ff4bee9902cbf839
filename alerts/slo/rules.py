"""Prometheus rules for SLOs, with the names, labels and alerts Sloth generates.

For each SLO, three groups, as Sloth writes them:

- ``sloth-slo-sli-recordings-<id>``: ``slo:sli_error:ratio_rate<w>`` for the windows the
  alerts need (5m, 30m, 1h, 2h, 6h, 1d, 3d) and the 30-day period (the mean of the
  5-minute ratios over 30 days, as Sloth computes it);
- ``sloth-slo-meta-recordings-<id>``: objective, error budget, current and period burn
  rate, error budget remaining, ``sloth_slo_info``;
- ``sloth-slo-alerts-<id>``: one alert name, two severities (``sloth_severity``): page
  when (5m and 1h > 14.4 x budget) or (30m and 6h > 6 x budget); ticket when
  (2h and 1d > 3 x budget) or (6h and 3d > 1 x budget): the multi-window, multi-burn-rate
  alerts of the Google SRE workbook, for a 30-day period.

Labels ``sloth_id``, ``sloth_service``, ``sloth_slo`` (and ``sloth_window`` on the SLI
recordings) are Sloth's, so Sloth's Grafana dashboards read these rules too. inferwatch
adds its own alert conventions where the spec leaves them out: ``severity`` (critical for
page, warning for ticket), ``action: none``, ``description`` and ``runbook_url``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inferwatch.alerts.slo.spec import Slo, SloSpec

PERIOD = "30d"
PERIOD_DAYS = 30
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
RUNBOOK = "https://github.com/inferwatch/inferwatch/blob/main/docs/slo.md"


@dataclass(frozen=True)
class BurnCondition:
    """Both windows above ``factor`` x the error budget."""

    short: str
    long: str
    factor: float


PAGE = (BurnCondition("5m", "1h", 14.4), BurnCondition("30m", "6h", 6))
TICKET = (BurnCondition("2h", "1d", 3), BurnCondition("6h", "3d", 1))


def _selector(slo: Slo) -> str:
    return f'sloth_id="{slo.id}", sloth_service="{slo.service}", sloth_slo="{slo.name}"'


def _base_labels(slo: Slo) -> dict[str, str]:
    return {
        **dict(slo.labels),
        "sloth_id": slo.id,
        "sloth_service": slo.service,
        "sloth_slo": slo.name,
    }


def sli_group(slo: Slo) -> dict[str, Any]:
    """The error ratio per window, and over the period."""
    rules: list[dict[str, Any]] = [
        {
            "record": f"slo:sli_error:ratio_rate{w}",
            "expr": f"(\n{slo.ratio(w)}\n)\n",
            "labels": {**_base_labels(slo), "sloth_window": w},
        }
        for w in WINDOWS
    ]
    sel = _selector(slo)
    rules.append(
        {
            "record": f"slo:sli_error:ratio_rate{PERIOD}",
            "expr": (
                f"sum_over_time(slo:sli_error:ratio_rate5m{{{sel}}}[{PERIOD}])\n"
                f"/ ignoring (sloth_window)\n"
                f"count_over_time(slo:sli_error:ratio_rate5m{{{sel}}}[{PERIOD}])\n"
            ),
            "labels": {**_base_labels(slo), "sloth_window": PERIOD},
        }
    )
    return {"name": f"sloth-slo-sli-recordings-{slo.id}", "rules": rules}


def meta_group(slo: Slo) -> dict[str, Any]:
    """Objective, budget, burn rates, budget remaining and the SLO's info series."""
    sel = _selector(slo)
    on = "on (sloth_id, sloth_slo, sloth_service) group_left"
    labels = _base_labels(slo)
    rules = [
        {"record": "slo:objective:ratio", "expr": f"vector({round(slo.objective / 100, 12)!r})"},
        {"record": "slo:error_budget:ratio", "expr": f"vector({slo.error_budget!r})"},
        {"record": "slo:time_period:days", "expr": f"vector({PERIOD_DAYS})"},
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": (
                f"slo:sli_error:ratio_rate5m{{{sel}}}\n/ {on}\nslo:error_budget:ratio{{{sel}}}\n"
            ),
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": (
                f"slo:sli_error:ratio_rate{PERIOD}{{{sel}}}\n/ {on}\n"
                f"slo:error_budget:ratio{{{sel}}}\n"
            ),
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{{{sel}}}",
        },
    ]
    out: list[dict[str, Any]] = [{**rule, "labels": dict(labels)} for rule in rules]
    out.append(
        {
            "record": "sloth_slo_info",
            "expr": "vector(1)",
            "labels": {
                **labels,
                "sloth_objective": f"{slo.objective:g}",
                "sloth_spec": "prometheus/v1",
                "sloth_mode": "cli-gen-prom",
            },
        }
    )
    return {"name": f"sloth-slo-meta-recordings-{slo.id}", "rules": out}


def burn_expr(slo: Slo, conditions: tuple[BurnCondition, ...]) -> str:
    """PromQL that is non-empty while any of ``conditions`` holds."""
    sel = _selector(slo)
    budget = slo.error_budget
    arms = []
    for cond in conditions:
        threshold = f"({cond.factor:g} * {budget!r})"
        arms.append(
            "(\n"
            f"    max(slo:sli_error:ratio_rate{cond.short}{{{sel}}} > {threshold}) "
            "without (sloth_window)\n"
            "    and\n"
            f"    max(slo:sli_error:ratio_rate{cond.long}{{{sel}}} > {threshold}) "
            "without (sloth_window)\n"
            ")"
        )
    return "\nor\n".join(arms) + "\n"


def _alert(slo: Slo, severity: str, conditions: tuple[BurnCondition, ...]) -> dict[str, Any]:
    spec = slo.page if severity == "page" else slo.ticket
    labels: dict[str, str] = {
        "severity": "critical" if severity == "page" else "warning",
        "action": "none",
        **dict(slo.alert_labels),
        **dict(spec.labels),
        "sloth_severity": severity,
    }
    windows = " or ".join(
        f"{c.short} and {c.long} above {c.factor:g}x the budget" for c in conditions
    )
    annotations: dict[str, str] = {
        "title": (
            f"({severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} "
            "SLO error budget burn rate is too fast."
        ),
        "summary": (
            "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate "
            "is over expected."
        ),
        "description": (
            f"The error ratio of SLO {slo.name} ({slo.objective:g}% objective) burns its "
            f"{PERIOD} error budget too fast: {windows}."
        ),
        "runbook_url": RUNBOOK,
        **dict(slo.alert_annotations),
        **dict(spec.annotations),
    }
    return {
        "alert": slo.alert_name,
        "expr": burn_expr(slo, conditions),
        "labels": labels,
        "annotations": annotations,
    }


def alert_group(slo: Slo) -> dict[str, Any] | None:
    """The page and ticket alerts (None when both are disabled)."""
    rules = []
    if not slo.page.disable:
        rules.append(_alert(slo, "page", PAGE))
    if not slo.ticket.disable:
        rules.append(_alert(slo, "ticket", TICKET))
    return {"name": f"sloth-slo-alerts-{slo.id}", "rules": rules} if rules else None


def rule_groups(spec: SloSpec) -> list[dict[str, Any]]:
    """Every group for every SLO of ``spec``, in Sloth's order."""
    groups: list[dict[str, Any]] = []
    for slo in spec.slos:
        groups += [sli_group(slo), meta_group(slo)]
        alerts = alert_group(slo)
        if alerts is not None:
            groups.append(alerts)
    return groups


def rule_file(spec: SloSpec) -> dict[str, Any]:
    """A Prometheus rule file (``rule_files:``)."""
    return {"groups": rule_groups(spec)}


def prometheus_rule(
    spec: SloSpec, *, namespace: str | None = None, labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A ``monitoring.coreos.com/v1`` ``PrometheusRule`` carrying the same groups."""
    name = spec.service.lower().replace("_", "-")
    metadata: dict[str, Any] = {"name": f"{name}-slos"}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = {
        "app.kubernetes.io/name": "inferwatch",
        "app.kubernetes.io/component": "slo",
        **dict(labels or {}),
    }
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": rule_file(spec),
    }
