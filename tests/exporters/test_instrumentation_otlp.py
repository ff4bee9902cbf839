"""OTLP/HTTP push to a loopback receiver, decoded with opentelemetry-proto, next to /metrics."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from inferwatch.exporters.instrumentation import instrument
from inferwatch.exporters.instrumentation.settings import InstrumentationSettings
from inferwatch.testing.instrumentation import OtlpReceiver, value


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver().start()
    yield server
    server.stop()


def test_otlp_push_and_prometheus_exposition_at_once(receiver: OtlpReceiver) -> None:
    app = FastAPI()

    @app.get("/generate/{prompt_id}")
    def generate(prompt_id: str) -> dict[str, str]:
        return {"id": prompt_id}

    registry = CollectorRegistry()
    settings = InstrumentationSettings.model_validate(
        {
            "otlp_endpoint": receiver.url,
            "otlp_interval_s": 3600,  # only the explicit flush below pushes
            "otlp_headers": {"x-tenant": "team-a"},
            "latency_buckets_s": [0.001, 0.01, 0.1, 1],
            "service_name": "fraud-server",
        }
    )
    instr = instrument(app, model="fraud", model_version="3", settings=settings, registry=registry)
    with TestClient(app) as client:
        for prompt in ("a", "b", "c"):
            client.get(f"/generate/{prompt}")
        with instr.inference(batch_size=2) as span:
            span.tokens(input=3, output=5)
        assert instr.pipeline is not None
        assert instr.pipeline.force_flush()
        assert receiver.wait()
        # the same measurements are on /metrics
        assert value(registry, "http_server_request_duration_seconds_count") == 3

    assert receiver.paths[0] == "/v1/metrics"
    assert {
        "http.server.request.duration",
        "http.server.active_requests",
        "inferwatch.inference.duration",
        "gen_ai.server.time_to_first_token",
        "gen_ai.server.time_per_output_token",
        "inferwatch.gen_ai.server.token.usage",
    } <= receiver.metric_names()
    request = receiver.requests[0]
    resource = {
        a.key: a.value.string_value for a in request.resource_metrics[0].resource.attributes
    }
    assert resource["service.name"] == "fraud-server"
    (scope_metrics,) = request.resource_metrics[0].scope_metrics
    assert scope_metrics.scope.name == "inferwatch.exporters.instrumentation"
    by_name = {m.name: m for m in scope_metrics.metrics}
    duration = by_name["http.server.request.duration"]
    assert duration.unit == "s"
    (point,) = duration.histogram.data_points
    assert point.count == 3
    assert list(point.explicit_bounds) == [0.001, 0.01, 0.1, 1]
    attrs = {a.key: a.value for a in point.attributes}
    assert attrs["http.route"].string_value == "/generate/{prompt_id}"
    assert attrs["http.response.status_code"].int_value == 200
    assert attrs["model"].string_value == "fraud"
    assert attrs["model_version"].string_value == "3"
    usage = by_name["inferwatch.gen_ai.server.token.usage"].histogram.data_points
    sums = {
        next(a.value.string_value for a in p.attributes if a.key == "gen_ai.token.type"): p.sum
        for p in usage
    }
    assert sums == {"input": 3, "output": 5}
