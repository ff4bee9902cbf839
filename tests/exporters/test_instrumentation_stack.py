"""A real Prometheus scrapes an instrumented app; PromQL quantiles over it return values."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from inferwatch.exporters.instrumentation import instrument
from inferwatch.exporters.instrumentation.settings import InstrumentationSettings
from inferwatch.stack import PrometheusProcess, ServedApp


@pytest.mark.stack
def test_prometheus_scrapes_and_computes_p99(
    prometheus_factory: Callable[..., PrometheusProcess],
    serve: Callable[[Any], ServedApp],
) -> None:
    app = FastAPI()

    @app.post("/predict/{item_id}")
    async def predict(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    registry = CollectorRegistry()
    instr = instrument(
        app, model="fraud", model_version="3", settings=InstrumentationSettings(), registry=registry
    )
    server = serve(app)
    prometheus = prometheus_factory(scrape_targets=[server.url.removeprefix("http://")])
    with httpx.Client(base_url=server.url) as client:
        for item in range(50):
            assert client.post(f"/predict/{item}").status_code == 200
        with instr.inference(batch_size=1) as span:
            span.tokens(input=4, output=8)
        # a few scrapes so that rate() has two samples to work on
        prometheus.wait_for('http_server_request_duration_seconds_count{model="fraud"} >= 50')
        for item in range(20):
            client.post(f"/predict/{item}")

    p99 = prometheus.wait_for(
        "histogram_quantile(0.99, sum by (le) "
        '(rate(http_server_request_duration_seconds_bucket{http_route="/predict/{item_id}"}[1m])))'
        " > 0"
    )
    assert math.isfinite(float(p99[0]["value"][1]))
    (series,) = prometheus.query(
        'http_server_request_duration_seconds_count{http_route="/predict/{item_id}"}'
    )
    assert series["metric"]["model"] == "fraud"
    assert series["metric"]["model_version"] == "3"
    assert series["metric"]["http_response_status_code"] == "200"
    ttft = prometheus.wait_for(
        "histogram_quantile(0.5, sum by (le) (gen_ai_server_time_to_first_token_seconds_bucket))"
    )
    assert math.isfinite(float(ttft[0]["value"][1]))
    assert prometheus.query('up{job="inferwatch"} == 1')
