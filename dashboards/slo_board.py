"""SLOs: error budget remaining, burn rate and compliance per model and SLO.

Reads the recordings ``inferwatch slo generate`` writes (Sloth's names, so SLOs generated
by Sloth itself show here too). Compliance is the share of good events over the 30-day
period, ``1 - slo:sli_error:ratio_rate30d``.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from inferwatch.dashboards.panels import base, graph, label_variable, single

UID = "inferwatch-slo"
SEL = 'namespace=~"$namespace", model=~"$model", sloth_service=~"$service"'
BY = "sloth_service, sloth_slo, model"
LEGEND = "{{sloth_slo}} {{model}}"


def build() -> Dashboard:
    """The SLO dashboard."""
    remaining = f"min by ({BY}) (slo:period_error_budget_remaining:ratio{{{SEL}}})"
    burn = f"max by ({BY}) (slo:current_burn_rate:ratio{{{SEL}}})"
    compliance = f"1 - max by ({BY}) (slo:sli_error:ratio_rate30d{{{SEL}}})"
    objective = f"max by ({BY}) (slo:objective:ratio{{{SEL}}})"
    return (
        base(
            UID,
            "inferwatch / SLOs",
            "Error budget remaining, burn rate and compliance per model.",
            "slo:sli_error:ratio_rate5m",
        )
        .with_variable(label_variable("service", "slo:sli_error:ratio_rate5m", "sloth_service"))
        .with_row(Row("Now"))
        .with_panel(
            single(
                "Lowest error budget remaining",
                (f"min({remaining})", "remaining"),
                unit="percentunit",
                description="Of the 30-day budget; below 0 the SLO is breached.",
            )
        )
        .with_panel(
            single(
                "Highest burn rate",
                (f"max({burn})", "burn rate"),
                description="1 spends the budget exactly over 30 days; 14.4 pages.",
            )
        )
        .with_panel(
            single("Lowest compliance", (f"min({compliance})", "compliance"), unit="percentunit")
        )
        .with_panel(
            single(
                "SLOs burning too fast",
                (
                    f'count(ALERTS{{alertstate="firing", sloth_severity!="", {SEL}}}) or vector(0)',
                    "alerts",
                ),
                description="Page and ticket burn-rate alerts firing.",
            )
        )
        .with_row(Row("Per model"))
        .with_panel(
            graph(
                "Error budget remaining",
                [(remaining, LEGEND)],
                unit="percentunit",
                minimum=None,
                maximum=1,
            )
        )
        .with_panel(
            graph(
                "Burn rate",
                [(burn, LEGEND)],
                description="Error ratio over 5 minutes divided by the error budget.",
            )
        )
        .with_panel(
            graph(
                "Compliance vs objective (30 days)",
                [(compliance, LEGEND), (objective, "objective {{sloth_slo}} {{model}}")],
                unit="percentunit",
                minimum=None,
                maximum=1,
            )
        )
        .with_panel(
            graph(
                "Error ratio by window",
                [
                    (
                        f"max by (sloth_window, sloth_slo, model) "
                        f"(slo:sli_error:ratio_rate5m{{{SEL}}} or slo:sli_error:ratio_rate1h{{{SEL}}})",
                        "{{sloth_window}} {{sloth_slo}} {{model}}",
                    )
                ],
                unit="percentunit",
            )
        )
    )
