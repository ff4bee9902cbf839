"""Model drift: per-model verdict over time, per-feature scores vs thresholds, report links."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, DashboardLink, Row, TextBoxVariable
from grafana_foundation_sdk.models.dashboard import DashboardLinkType

from inferwatch.dashboards.panels import base, graph, single

UID = "inferwatch-drift"
SEL = 'namespace=~"$namespace", model=~"$model"'


def build() -> Dashboard:
    """The model drift dashboard."""
    report = (
        DashboardLink("Drift report (evidently)")
        .type(DashboardLinkType.LINK)
        .url("${drift_url}/drift/models/${model}/report")
        .target_blank(True)
        .icon("doc")
    )
    return (
        base(
            UID,
            "inferwatch / Model drift",
            "Live features and predictions vs the baseline.",
            "inferwatch_drift_score",
        )
        .with_variable(
            TextBoxVariable("drift_url")
            .label("Drift service URL")
            .default_value("http://inferwatch-drift:8686")
            .description("Base URL of the drift service, for the report link.")
        )
        .link(report)
        .with_row(Row("Verdict"))
        .with_panel(
            single(
                "Models drifting",
                (f"sum(inferwatch_drift_dataset_detected{{{SEL}}})", "models"),
                description="Models whose latest window drifted (dataset-level verdict).",
            )
        )
        .with_panel(
            single(
                "Drifted features",
                (f"sum(inferwatch_drift_dataset_drifted_features{{{SEL}}})", "features"),
            )
        )
        .with_panel(
            single(
                "Last evaluation age",
                (
                    f"time() - max(inferwatch_drift_last_evaluation_timestamp_seconds{{{SEL}}})",
                    "age",
                ),
                unit="s",
            )
        )
        .with_panel(
            single("Rows in last window", (f"sum(inferwatch_drift_window_rows{{{SEL}}})", "rows"))
        )
        .with_panel(
            graph(
                "Dataset-level drift verdict",
                [(f"max by (model) (inferwatch_drift_dataset_detected{{{SEL}}})", "{{model}}")],
                maximum=1,
                description="1 while the model's latest window is judged drifted.",
            )
        )
        .with_panel(
            graph(
                "Evaluations by outcome",
                [
                    (
                        f"sum by (model, outcome) (increase(inferwatch_drift_evaluations_total{{{SEL}}}[$__rate_interval]))",
                        "{{model}} {{outcome}}",
                    )
                ],
            )
        )
        .with_row(Row("Features"))
        .with_panel(
            graph(
                "Adjusted p-value vs alpha",
                [
                    (f"inferwatch_drift_p_value{{{SEL}}}", "{{feature}} {{method}}"),
                    (
                        f"max(inferwatch_drift_threshold{{{SEL}}} and on (model, feature, method) inferwatch_drift_p_value{{{SEL}}})",
                        "alpha",
                    ),
                ],
                width=24,
                log_scale=True,
                minimum=None,
                description="Each test's p-value after multiple-testing correction; below alpha (and past the minimum effect size) a feature drifts.",
            )
        )
        .with_panel(
            graph(
                "Test statistics",
                [(f"inferwatch_drift_score{{{SEL}}}", "{{feature}} {{method}}")],
                description="The statistic behind each verdict (KS D, chi-squared, missing-rate difference, or a distance).",
            )
        )
        .with_panel(
            graph(
                "Drifted features by model",
                [
                    (
                        f"sum by (model, feature) (inferwatch_drift_detected{{{SEL}}})",
                        "{{model}} {{feature}}",
                    )
                ],
            )
        )
    )
