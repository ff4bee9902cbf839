"""Inference service: rate, errors, latency percentiles, generative timings, saturation.

Every query reads inferwatch's names, which ``instrument()`` writes and the engine
adapters (``alerts/recording/engines.yaml``) write for vLLM, TGI, Triton and SGLang.
Request panels prefer the HTTP server histogram and fall back, per model, to the
generative request histogram (``or on (model)``), so an engine-served model shows up
and an instrumented generative model is not counted twice.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row

from inferwatch.dashboards.panels import base, graph, single

UID = "inferwatch-inference"
SEL = 'namespace=~"$namespace", model=~"$model"'
REQ = "http_server_request_duration_seconds"
GEN = "gen_ai_server_request_duration_seconds"


def _rate(metric: str, extra: str = "") -> str:
    return f"rate({metric}{{{SEL}{extra}}}[$__rate_interval])"


def _quantile(q: float, metric: str, by: str = "model") -> str:
    return f"histogram_quantile({q}, sum by (le, {by}) ({_rate(f'{metric}_bucket')}))"


def _request_quantile(q: float, by: str = "model") -> str:
    """A percentile of request duration: HTTP where a model has it, else generative."""
    either = f"{_rate(f'{REQ}_bucket')} or on (model) {_rate(f'{GEN}_bucket')}"
    return f"histogram_quantile({q}, sum by (le, {by}) ({either}))"


def _mean(metric: str) -> str:
    return (
        f"sum by (model) ({_rate(f'{metric}_sum')}) / sum by (model) ({_rate(f'{metric}_count')})"
    )


def build() -> Dashboard:
    """The inference (RED) dashboard."""
    requests = f"sum by (model) ({_rate(f'{REQ}_count')} or on (model) {_rate(f'{GEN}_count')})"
    server_errors = _rate(f"{REQ}_count", ', http_response_status_code=~"5.."')
    engine_errors = _rate("inferwatch_gen_ai_server_request_failures_total")
    errors = f"sum by (model) ({server_errors} or on (model) {engine_errors})"
    active = (
        f"sum by (model) (http_server_active_requests{{{SEL}}}"
        f" or on (model) inferwatch_inference_active_requests{{{SEL}}})"
    )
    return (
        base(
            UID,
            "inferwatch / Inference",
            "Requests, errors, latency and saturation.",
            f'{{__name__=~"{REQ}_count|{GEN}_count"}}',
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
        .with_panel(
            single(
                "p99 latency (slowest model)",
                (f"max({_request_quantile(0.99)})", "p99"),
                unit="s",
                description="Per model, since models' histograms may have different buckets.",
            )
        )
        .with_panel(single("In flight", (f"sum({active})", "in flight")))
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
                    (_request_quantile(0.5), "p50 {{model}}"),
                    (_request_quantile(0.9), "p90 {{model}}"),
                    (_request_quantile(0.99), "p99 {{model}}"),
                ],
                unit="s",
            )
        )
        .with_panel(
            graph(
                "Requests by status",
                description="HTTP status codes (instrumented servers; engines report none).",
                queries=[
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
        .with_panel(
            graph(
                "Mean request duration",
                [(_mean(GEN), "{{model}}")],
                unit="s",
                description="Generative requests, from sums and counts (all engines, Triton too).",
            )
        )
        .with_panel(
            graph(
                "Tokens / s",
                [
                    (
                        "sum by (model, gen_ai_token_type) "
                        f"({_rate('inferwatch_gen_ai_server_token_usage_sum')})",
                        "{{gen_ai_token_type}} {{model}}",
                    )
                ],
                unit="short",
            )
        )
        .with_row(Row("Saturation"))
        .with_panel(graph("In-flight requests", [(active, "{{model}}")]))
        .with_panel(
            graph(
                "Requests waiting",
                [(f"sum by (model) (inferwatch_inference_queued_requests{{{SEL}}})", "{{model}}")],
                description="Requests queued before inference: engines' waiting counts, "
                "or queue() in the instrumentation. The signal to scale on.",
            )
        )
        .with_panel(
            graph(
                "KV-cache use",
                [
                    (
                        f"max by (model) (inferwatch_gen_ai_server_kv_cache_usage_ratio{{{SEL}}})",
                        "{{model}}",
                    )
                ],
                unit="percentunit",
                maximum=1,
                description="Share of the KV cache in use (busiest replica); near 1, requests "
                "wait or are preempted.",
            )
        )
        .with_panel(
            graph(
                "Mean queue time",
                [(_mean("inferwatch_inference_queue_duration_seconds"), "{{model}}")],
                unit="s",
            )
        )
        .with_panel(
            graph(
                "Mean batch size",
                [(_mean("inferwatch_inference_batch_size"), "{{model}}")],
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
