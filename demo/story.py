"""The demo's story on a started ``DemoStack``: baseline, calm traffic, shift, consequences.

Kept apart from the stack so the end-to-end test and ``inferwatch demo`` tell the
same story, and the stack stays about starting and stopping things.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from inferwatch.demo.chain import DRIFT_RULE, DemoStack, Event
from inferwatch.demo.synthetic import MODEL


@dataclass
class DemoResult:
    """What one run showed, for the CLI's summary and the end-to-end test."""

    events: list[Event]
    drift: dict[str, Any] | None
    retrain_calls: list[Any]
    onset_to_webhook_seconds: float | None
    report_url: str | None


def run_story(stack: DemoStack, *, calm_seconds: float = 8.0, timeout: float = 90.0) -> DemoResult:
    """Baseline, calm traffic, shifted traffic, and every consequence, on a started stack."""
    assert stack.service is not None
    stack.create_baseline()
    stack.start_model_server()
    stack.start_load()
    calm = stack.wait_for(
        "first drift evaluation",
        lambda: (r := stack.latest_drift()) and r.get("rows", 0) > 0 and r,
        timeout,
    )
    stack.mark("calm window evaluated", verdict=calm.get("verdict"), rows=calm.get("rows"))
    time.sleep(calm_seconds)
    _report_serving(stack)
    onset = stack.drift_shift(1.0)
    drift = stack.wait_for(
        "drift detected",
        lambda: (r := stack.latest_drift()) and r.get("drift_detected") and r,
        timeout,
    )
    stack.mark("drift detected", features=",".join(drift.get("drifted_features", [])))
    dropped = stack.wait_for(
        "accuracy realized as degraded", lambda: _degraded(stack, "accuracy"), timeout
    )
    stack.mark(
        "accuracy dropped (realized from late labels)",
        accuracy=round(dropped["value"], 3),
        band_low=round(dropped["lower"], 3) if dropped.get("lower") is not None else None,
        labelled=f"{dropped['labelled_share']:.0%}",
    )
    report_url = f"{stack.service.url}/drift/models/{MODEL}/report"
    if httpx.get(report_url, timeout=60).status_code == 200:
        # The link only while something serves it: with --keep-running.
        stack.mark("report ready", **({"url": report_url} if stack.options.keep_running else {}))
    webhook_at: float | None = None
    if stack.alertmanager is not None:
        stack.wait_for("alert in Alertmanager", lambda: stack.firing_alerts(DRIFT_RULE), timeout)
        stack.mark("alert fired", alertname=DRIFT_RULE, alertmanager=stack.alertmanager.url)
        calls = stack.wait_for("retraining webhook", stack.retrain_calls, timeout)
        webhook = stack.mark("retraining webhook delivered", calls=len(calls))
        webhook_at = round(webhook.at - onset.at, 1)
        time.sleep(5)  # re-sends and repeats would arrive now; they must be deduplicated
    elif not stack.options.use_stack:
        stack.say("--no-stack: the alert -> webhook chain is skipped.")
    else:
        stack.say(
            "Prometheus/Alertmanager not installed: the alert -> webhook chain is skipped "
            "(scripts/setup.sh installs them)."
        )
    return DemoResult(
        events=stack.events,
        drift=drift,
        retrain_calls=stack.retrain_calls(),
        onset_to_webhook_seconds=webhook_at,
        report_url=report_url if stack.options.keep_running else None,
    )


def _degraded(stack: DemoStack, metric: str) -> dict[str, Any] | None:
    """The newest realized ``metric`` result judged degraded, or None."""
    assert stack.service is not None
    answer = httpx.get(f"{stack.service.url}/drift/models/{MODEL}/quality", timeout=10)
    if answer.status_code != 200:
        return None
    for result in answer.json()["results"]:  # newest window first
        if result["metric"] == metric and result["kind"] == "realized":
            return result if result["verdict"] == "degraded" else None
    return None


def _report_serving(stack: DemoStack) -> None:
    """Latency and GPU figures as Prometheus sees them."""
    if stack.prometheus is None:
        return
    rate = "sum by (le) (rate(http_server_request_duration_seconds_bucket[30s]))"
    p50 = stack.promql(f"histogram_quantile(0.5, {rate})")
    p99 = stack.promql(f"histogram_quantile(0.99, {rate})")
    util = stack.promql("avg(inferwatch_gpu_utilization_ratio)")
    power = stack.promql("sum(inferwatch_gpu_power_watts)")

    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 1000:.1f}ms"

    stack.mark(
        "traffic served",
        requests=stack.requests_sent,
        p50=ms(p50),
        p99=ms(p99),
        gpu_util="n/a" if util is None else f"{util:.0%}",
        gpu_power="n/a" if power is None else f"{power:.0f}W",
    )
