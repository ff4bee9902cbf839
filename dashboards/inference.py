"""Inference service: rate, errors, latency percentiles, generative timings, saturation."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from inferwatch.dashboards.panels import base, graph, single

UID = "inferwatch-inference"
SEL = 'namespace=~"$namespace", model=~"$model"'
REQ = "http_server_request_duration_seconds"


def _quantile(q: float, metric: str, by: str = "model") -> str:
    return (
        f"histogram_quantile({q}, sum by (le, {by}) "
        f"(rate({metric}_bucket{{{SEL}}}[$__rate_interval])))"
    )


def build() -> Dashboard:
    """The inference (RED) dashboard."""
    requests = f"sum by (model) (rate({REQ}_count{{{SEL}}}[$__rate_interval]))"
    errors = (
        f'sum by (model) (rate({REQ}_count{{{SEL}, http_response_status_code=~"5.."}}'
        "[$__rate_interval]))"
    )
    return (
        base(
            UID,
            "inferwatch / Inference",
            "Requests, errors, latency and saturation.",
            f"{REQ}_count",
        )
        .with_row(Row("Rate, errors, duration"))
        .with_panel(single("Requests / s", (f"sum({requests})", "rps"), unit="reqps"))
        .with_panel(
            single(
                "Error ratio",
                (f"sum({errors} or {requests} * 0) / sum({requests})", "errors"),
                unit="percentunit",
            )
        )
        .with_panel(single("p99 latency", (_quantile(0.99, REQ, by="le"), "p99"), unit="s"))
        .with_panel(
            single("In flight", (f"sum(http_server_active_requests{{{SEL}}})", "in flight"))
        )
        .with_panel(graph("Requests by model", [(requests, "{{model}}")], unit="reqps"))
        .with_panel(
            graph(
                "Error ratio by model",
                [(f"({errors} or {requests} * 0) / {requests}", "{{model}}")],
                unit="percentunit",
                description="Share of requests answered 5xx.",
            )
        )
        .with_panel(
            graph(
                "Latency percentiles",
                [
                    (_quantile(0.5, REQ), "p50 {{model}}"),
                    (_quantile(0.9, REQ), "p90 {{model}}"),
                    (_quantile(0.99, REQ), "p99 {{model}}"),
                ],
                unit="s",
            )
        )
        .with_panel(
            graph(
                "Requests by status",
                [
                    (
                        f"sum by (http_response_status_code) (rate({REQ}_count{{{SEL}}}"
                        "[$__rate_interval]))",
                        "{{http_response_status_code}}",
                    )
                ],
                unit="reqps",
            )
        )
        .with_row(Row("Generative models"))
        .with_panel(
            graph(
                "Time to first token",
                [
                    (_quantile(0.5, "gen_ai_server_time_to_first_token_seconds"), "p50 {{model}}"),
                    (_quantile(0.95, "gen_ai_server_time_to_first_token_seconds"), "p95 {{model}}"),
                ],
                unit="s",
            )
        )
        .with_panel(
            graph(
                "Time per output token",
                [
                    (
                        _quantile(0.5, "gen_ai_server_time_per_output_token_seconds"),
                        "p50 {{model}}",
                    ),
                    (
                        _quantile(0.95, "gen_ai_server_time_per_output_token_seconds"),
                        "p95 {{model}}",
                    ),
                ],
                unit="s",
            )
        )
        .with_row(Row("Saturation"))
        .with_panel(
            graph(
                "In-flight requests",
                [(f"sum by (model) (http_server_active_requests{{{SEL}}})", "{{model}}")],
            )
        )
        .with_panel(
            graph(
                "GPU utilisation of the serving pods",
                [
                    (
                        'avg by (namespace, pod) (inferwatch_gpu_utilization_ratio{namespace=~"$namespace"})',
                        "{{namespace}}/{{pod}}",
                    )
                ],
                unit="percentunit",
                maximum=1,
            )
        )
    )
