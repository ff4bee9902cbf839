"""Model drift and quality: per-model verdict over time, per-feature scores vs thresholds,
realized vs estimated performance against the reference band, labelled share, report links."""

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
        .with_row(Row("Model quality"))
        .with_panel(
            graph(
                "Performance: realized vs estimated, with the reference band",
                [
                    (
                        f"inferwatch_model_performance{{{SEL}}}",
                        "{{model}} {{metric}} {{kind}}",
                    ),
                    (
                        f"inferwatch_model_performance_lower{{{SEL}}}",
                        "{{model}} {{metric}} {{kind}} band low",
                    ),
                    (
                        f"inferwatch_model_performance_upper{{{SEL}}}",
                        "{{model}} {{metric}} {{kind}} band high",
                    ),
                ],
                width=24,
                description="Each metric in the newest window of its kind: realized from "
                "labels (usually an older window: labels arrive late), estimated from scores "
                "before them (CBPE), between the reference band's ends at that window's size.",
            )
        )
        .with_panel(
            graph(
                "Labelled share",
                [(f"inferwatch_model_labelled_share{{{SEL}}}", "{{model}} {{kind}}")],
                maximum=1,
                description="Share of the window's predictions whose actual has arrived; "
                "realized metrics replace estimates once it reaches quality.realized_share.",
            )
        )
        .with_panel(
            graph(
                "Degraded metrics",
                [
                    (
                        f"sum by (model, metric, kind) (inferwatch_model_performance_degraded{{{SEL}}})",
                        "{{model}} {{metric}} {{kind}}",
                    )
                ],
                maximum=1,
                description="1 while the metric is past the band on the bad side or past "
                "the policy's floor (InferwatchModelPerformanceDegraded fires after 10m).",
            )
        )
    )
