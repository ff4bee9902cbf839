"""The instrumentation on a real FastAPI app and serving loop, read back as Prometheus shows it."""

from __future__ import annotations

import asyncio
import json
import sys
import types
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from inferwatch.drift.baseline import infer_baseline
from inferwatch.errors import ConfigError
from inferwatch.exporters.gpu.settings import GpuSettings
from inferwatch.exporters.instrumentation import (
    Instrumentation,
    inference,
    instrument,
    track_generation,
    track_request,
)
from inferwatch.exporters.instrumentation import _instrumentation as instr_module
from inferwatch.exporters.instrumentation.settings import InstrumentationSettings
from inferwatch.exporters.recorder.settings import RecorderSettings
from inferwatch.settings import load_settings
from inferwatch.testing.instrumentation import ManualClock, samples, value

DURATION = "http_server_request_duration_seconds"


def model_app() -> FastAPI:
    app = FastAPI()

    @app.post("/predict/{item_id}")
    async def predict(item_id: int, body: dict[str, float]) -> dict[str, float]:
        return {"id": item_id, "score": sum(body.values())}

    @app.get("/bad")
    def bad() -> None:
        raise HTTPException(status_code=422, detail="no")

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("model crashed")

    return app


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def loop_instr(registry: CollectorRegistry, clock: ManualClock) -> Iterator[Instrumentation]:
    """Instrumentation for a non-HTTP serving loop, on its own registry and clock."""
    instr = instrument(
        model="llm",
        model_version="7",
        settings=InstrumentationSettings(),
        registry=registry,
        clock=clock,
    )
    yield instr
    instr.shutdown()


def test_fastapi_app_exposes_semconv_series_with_route_templates(
    registry: CollectorRegistry,
) -> None:
    app = model_app()

    @app.get("/inflight")
    def inflight() -> float | None:
        return value(registry, "http_server_active_requests", http_request_method="GET")

    settings = InstrumentationSettings(record_body_size=True)
    instrument(app, model="fraud", model_version="3", settings=settings, registry=registry)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/inflight").json() == 1  # this very request
        for item in range(5):
            assert client.post(f"/predict/{item}", json={"a": 1.0, "b": 2.0}).status_code == 200
        for junk in ("/wp-admin", "/x/1", "/x/2", "/predict"):
            client.get(junk)
        assert client.get("/bad").status_code == 422
        assert client.get("/boom").status_code == 500
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")

        common = {"model": "fraud", "model_version": "3"}
        assert (
            value(
                registry,
                f"{DURATION}_count",
                http_route="/predict/{item_id}",
                http_request_method="POST",
                http_response_status_code="200",
                **common,
            )
            == 5
        )
        routes = {s.labels["http_route"] for s in samples(registry, f"{DURATION}_count")}
        assert routes == {"/predict/{item_id}", "unmatched", "/bad", "/boom", "/inflight"}
        assert value(registry, f"{DURATION}_count", http_route="unmatched") == 4
        assert (
            value(
                registry, f"{DURATION}_count", http_route="/boom", http_response_status_code="500"
            )
            == 1
        )
        assert value(registry, f"{DURATION}_count", error_type="RuntimeError") == 1
        assert value(registry, f"{DURATION}_count", http_response_status_code="422") == 1
        # /metrics itself is not recorded; in-flight is back to zero per method
        active = samples(registry, "http_server_active_requests")
        assert {s.labels["http_request_method"] for s in active} == {"GET", "POST"}
        assert all(s.value == 0 for s in active)
        body = value(
            registry, "http_server_request_body_size_bytes_sum", http_route="/predict/{item_id}"
        )
        assert body == 5 * len(b'{"a":1.0,"b":2.0}')
        response_sum = value(
            registry, "http_server_response_body_size_bytes_sum", http_route="/predict/{item_id}"
        )
        assert response_sum is not None and response_sum > 0
        # every instrument carries model and model_version; buckets are the inference ones
        assert all(s.labels["model"] == "fraud" for s in samples(registry, "http_server"))
        les = {s.labels["le"] for s in samples(registry, f"{DURATION}_bucket")}
        assert {"0.0005", "60.0", "+Inf"} <= les
        assert "target_info" in metrics.text


def test_unknown_methods_collapse_to_other(registry: CollectorRegistry) -> None:
    app = model_app()
    instrument(app, model="m", settings=InstrumentationSettings(), registry=registry)
    with TestClient(app) as client:
        client.request("BREW", "/predict/1")
        methods = {s.labels["http_request_method"] for s in samples(registry, f"{DURATION}_count")}
        assert value(registry, f"{DURATION}_count", model_version="unknown") == 1
        assert samples(registry, "http_server_request_body_size") == []  # off by default
    assert methods == {"_OTHER"}
    assert samples(registry, DURATION) == []  # shutting the app down detached the reader


def test_injected_meter_provider_records_without_building_a_pipeline(
    registry: CollectorRegistry,
) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    app = model_app()
    instr = instrument(
        app,
        model="fraud",
        settings=InstrumentationSettings(),
        registry=registry,
        meter_provider=provider,
    )
    assert instr.pipeline is None
    with TestClient(app) as client:
        client.post("/predict/1", json={"a": 1.0})
    data = reader.get_metrics_data()
    assert data is not None
    points = {
        metric.name: metric.data.data_points
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    }
    (point,) = points["http.server.request.duration"]
    assert dict(point.attributes or {})["http.route"] == "/predict/{item_id}"
    assert samples(registry, DURATION) == []  # the caller owns exposition now
    provider.shutdown()


def test_inference_span_records_generation_metrics(
    loop_instr: Instrumentation, registry: CollectorRegistry, clock: ManualClock
) -> None:
    queued = clock()
    clock.advance(0.5)
    with inference(batch_size=4, queued_at=queued, payload_bytes=2048) as span:
        assert value(registry, "inferwatch_inference_active_requests") == 1
        span.tokens(input=12)
        clock.advance(0.2)
        span.first_token()
        clock.advance(0.3)
        span.tokens(output=4)
    assert value(registry, "inferwatch_inference_active_requests") == 0
    assert value(registry, "inferwatch_inference_queue_duration_seconds_sum") == pytest.approx(0.5)
    assert value(registry, "inferwatch_inference_batch_size_sum") == 4
    assert value(registry, "inferwatch_inference_payload_size_bytes_sum") == 2048
    assert value(
        registry, "inferwatch_inference_duration_seconds_sum", outcome="ok"
    ) == pytest.approx(0.5)
    ttft = "gen_ai_server_time_to_first_token_seconds_sum"
    # gen_ai times count from arrival (queue included); time per token excludes the first
    assert value(registry, ttft, gen_ai_operation_name="text_completion") == pytest.approx(0.7)
    assert value(registry, "gen_ai_server_time_per_output_token_seconds_sum") == pytest.approx(0.1)
    assert value(registry, "gen_ai_server_request_duration_seconds_sum") == pytest.approx(1.0)
    tokens = "inferwatch_gen_ai_server_token_usage_sum"
    assert value(registry, tokens, gen_ai_token_type="input", model="llm") == 12
    assert value(registry, tokens, gen_ai_token_type="output", model_version="7") == 4


def test_failed_inference_counts_as_error_without_token_latencies(
    loop_instr: Instrumentation, registry: CollectorRegistry, clock: ManualClock
) -> None:
    with pytest.raises(TimeoutError), loop_instr.inference(model="other") as span:
        span.tokens(output=1)
        clock.advance(1.0)
        raise TimeoutError
    with loop_instr.inference() as span:
        span.fail("rejected")
    count = "inferwatch_inference_duration_seconds_count"
    assert value(registry, count, model="other", outcome="error", error_type="TimeoutError") == 1
    assert value(registry, count, model="llm", outcome="error", error_type="rejected") == 1
    assert value(registry, "gen_ai_server_request_duration_seconds_count", model="other") == 1
    assert value(registry, "gen_ai_server_time_to_first_token_seconds_count") is None


def test_span_rejects_negative_counts(loop_instr: Instrumentation) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        loop_instr.inference(batch_size=-1)
    with loop_instr.inference() as span, pytest.raises(ValueError, match="token counts"):
        span.tokens(output=-3)


def test_decorators_wrap_sync_async_and_generators(
    loop_instr: Instrumentation, registry: CollectorRegistry, clock: ManualClock
) -> None:
    @track_request
    def predict(x: int) -> int:
        clock.advance(0.01)
        return x * 2

    @track_request(model="async-model", batch_size=2)
    async def predict_async(x: int) -> int:
        return x + 1

    @track_generation
    def generate(n: int) -> Iterator[str]:
        for i in range(n):
            clock.advance(0.1)
            yield f"t{i}"

    @track_generation(count=len, operation="chat")
    async def stream(words: list[str]) -> AsyncIterator[str]:
        for word in words:
            yield word

    async def consume() -> list[str]:
        return [w async for w in stream(["ab", "cde"])]

    assert predict(2) == 4
    assert asyncio.run(predict_async(1)) == 2
    assert list(generate(3)) == ["t0", "t1", "t2"]
    assert asyncio.run(consume()) == ["ab", "cde"]
    count = "inferwatch_inference_duration_seconds_count"
    assert value(registry, count, model="llm") == 3
    assert value(registry, count, model="async-model") == 1
    assert value(registry, "inferwatch_inference_batch_size_sum", model="async-model") == 2
    tokens = "inferwatch_gen_ai_server_token_usage_sum"
    assert value(registry, tokens, gen_ai_operation_name="text_completion") == 3
    assert value(registry, tokens, gen_ai_operation_name="chat") == 5
    assert value(
        registry,
        "gen_ai_server_time_per_output_token_seconds_sum",
        gen_ai_operation_name="text_completion",
    ) == pytest.approx(0.1)
    with pytest.raises(TypeError, match="generator"):
        track_generation(predict)


def test_module_level_api_needs_instrument_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(instr_module, "_current", None)
    with pytest.raises(ConfigError, match="instrument"):
        inference()


def test_model_is_required(registry: CollectorRegistry) -> None:
    with pytest.raises(ConfigError, match="MODEL"):
        instrument(settings=InstrumentationSettings(), registry=registry)


def test_settings_come_from_environment(
    monkeypatch: pytest.MonkeyPatch, registry: CollectorRegistry
) -> None:
    prefix = "INFERWATCH_EXPORTERS__INSTRUMENTATION__"
    monkeypatch.setenv(prefix + "MODEL", "env-model")
    monkeypatch.setenv(prefix + "LATENCY_BUCKETS_S", "[0.01, 0.1, 1]")
    monkeypatch.setenv(prefix + "METRICS_PATH", "/otel-metrics")
    app = model_app()
    instr = instrument(app, registry=registry)
    assert instr.model == "env-model"
    with TestClient(app) as client:
        client.post("/predict/1", json={"a": 1.0})
        assert "http_server_request_duration_seconds" in client.get("/otel-metrics").text
        les = {s.labels["le"] for s in samples(registry, f"{DURATION}_bucket")}
    assert les == {"0.01", "0.1", "1.0", "+Inf"}


@pytest.mark.parametrize(
    ("field", "bad", "message"),
    [
        pytest.param("latency_buckets_s", [0.1, 0.1], "increase strictly", id="not-increasing"),
        pytest.param("token_buckets", [], "at least one", id="empty"),
        pytest.param("size_buckets_bytes", [-1, 5], "negative", id="negative"),
        pytest.param("metrics_path", "metrics", "start with", id="relative-path"),
        pytest.param("otlp_endpoint", "not a url", "URL", id="bad-url"),
    ],
)
def test_invalid_settings_are_refused(field: str, bad: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        InstrumentationSettings.model_validate({field: bad})
    env = "INFERWATCH_EXPORTERS__INSTRUMENTATION__" + field.upper()
    with pytest.raises(ConfigError, match=env):
        load_settings(exporters={"instrumentation": {field: bad}})


def test_disabled_adds_nothing(registry: CollectorRegistry) -> None:
    app = model_app()
    instr = instrument(
        app, model="m", settings=InstrumentationSettings(enabled=False), registry=registry
    )
    with TestClient(app) as client:
        client.post("/predict/1", json={"a": 1.0})
        assert client.get("/metrics").status_code == 404
    with instr.inference() as span:
        span.tokens(output=3)
    assert samples(registry, "") == []


class FakeGpuExporter:
    """Stands in for inferwatch.exporters.gpu.exporter (the NVML boundary is elsewhere)."""

    def __init__(self) -> None:
        self.started: list[tuple[CollectorRegistry, GpuSettings]] = []
        self.stopped = 0

    def start_in_process(self, registry: CollectorRegistry, settings: GpuSettings) -> Any:
        self.started.append((registry, settings))
        exporter = self

        class Handle:
            def stop(self) -> None:
                exporter.stopped += 1

        return Handle()


def test_gpu_exporter_starts_with_the_app_and_stops_with_it(
    monkeypatch: pytest.MonkeyPatch, registry: CollectorRegistry
) -> None:
    fake = FakeGpuExporter()
    module = types.ModuleType(instr_module.GPU_MODULE)
    module.start_in_process = fake.start_in_process  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, instr_module.GPU_MODULE, module)
    app = model_app()
    gpu_settings = GpuSettings(simulate=2)
    instrument(
        app,
        model="m",
        settings=InstrumentationSettings(),
        registry=registry,
        gpu=True,
        gpu_settings=gpu_settings,
    )
    assert fake.started == []  # nothing runs until the server starts
    with TestClient(app):
        assert fake.started == [(registry, gpu_settings)]
    assert fake.stopped == 1


def test_gpu_without_the_exporter_module_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, registry: CollectorRegistry
) -> None:
    monkeypatch.setitem(sys.modules, instr_module.GPU_MODULE, None)
    with pytest.raises(ConfigError, match=r"gpu\.exporter"):
        instrument(model="m", settings=InstrumentationSettings(), registry=registry, gpu=True)


def test_recorder_is_handed_through(registry: CollectorRegistry) -> None:
    recorder = object()
    instr = instrument(
        model="m", settings=InstrumentationSettings(), registry=registry, recorder=recorder
    )
    assert instr.recorder is recorder
    instr.shutdown()


def test_real_gpu_exporter_on_the_simulated_driver(registry: CollectorRegistry) -> None:
    """The real inferwatch.exporters.gpu.exporter, on its simulated NVML (no GPU here)."""
    app = model_app()
    instrument(
        app,
        model="m",
        settings=InstrumentationSettings(gpu=True),
        registry=registry,
        gpu_settings=GpuSettings(simulate=2),
    )
    with TestClient(app) as client:
        client.post("/predict/1", json={"a": 1.0})
        text = client.get("/metrics").text
    assert 'inferwatch_gpu_up{gpu="1"' in text
    assert "http_server_request_duration_seconds_count" in text
    assert "inferwatch_gpu_up" not in client.get("/metrics").text  # stopped with the app


def test_recorder_built_from_settings_shares_the_registry(
    registry: CollectorRegistry, tmp_path: Path
) -> None:
    """The real PredictionRecorder, built lazily from its settings and closed on shutdown."""
    reference = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0], "plan": ["a", "a", "b", "c"]})
    baseline_file = tmp_path / "churn.json"
    baseline_file.write_text(json.dumps(infer_baseline("churn", reference).to_dict()))
    instr = instrument(
        model="churn",
        settings=InstrumentationSettings(),
        registry=registry,
        recorder_settings=RecorderSettings(model="churn", baseline_file=baseline_file),
    )
    instr.recorder.record({"age": 33, "plan": "b"})
    with instr.inference():
        pass
    assert value(registry, "inferwatch_prediction_records_total", model="churn") == 1
    assert value(registry, "inferwatch_inference_duration_seconds_count", model="churn") == 1
    instr.shutdown()
    assert samples(registry, "inferwatch_prediction_records") == []


@pytest.mark.gpu
def test_real_gpu_exporter_on_a_real_driver(registry: CollectorRegistry) -> None:
    """instrument(gpu=True) on a machine with an NVIDIA driver: GPU and HTTP series together."""
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
    except pynvml.NVMLError as exc:
        pytest.skip(f"NVML cannot initialise here: {exc}")
    app = model_app()
    instrument(app, model="m", settings=InstrumentationSettings(gpu=True), registry=registry)
    with TestClient(app) as client:
        client.post("/predict/1", json={"a": 1.0})
        client.get("/metrics")
        up = [s for s in samples(registry, "inferwatch_gpu_up") if s.name == "inferwatch_gpu_up"]
        total = samples(registry, "inferwatch_gpu_memory_total_bytes")
        requests = value(registry, f"{DURATION}_count", http_route="/predict/{item_id}")
    assert len(up) == count and all(s.value == 1 for s in up), up
    assert total and all(s.value > 0 for s in total)
    assert requests == 1


def test_one_setup_per_registry_until_shut_down(
    monkeypatch: pytest.MonkeyPatch, registry: CollectorRegistry
) -> None:
    settings = InstrumentationSettings()
    first = instrument(model="m", settings=settings, registry=registry)
    with pytest.raises(ConfigError, match="already publishes"):
        instrument(model="m", settings=settings, registry=registry)
    first.shutdown()
    first.shutdown()  # idempotent
    # a set-up that fails half-way gives the registry back too
    monkeypatch.setitem(sys.modules, instr_module.GPU_MODULE, None)
    with pytest.raises(ConfigError, match=r"gpu\.exporter"):
        instrument(model="m", settings=settings, registry=registry, gpu=True)
    again = instrument(model="m", settings=settings, registry=registry)
    with again.inference():
        pass
    assert value(registry, "inferwatch_inference_duration_seconds_count") == 1
    again.shutdown()


def test_abandoned_stream_counts_as_cancelled(
    loop_instr: Instrumentation, registry: CollectorRegistry
) -> None:
    @loop_instr.track_generation
    def stream() -> Iterator[int]:
        yield from range(10)

    tokens = stream()
    assert next(tokens) == 0
    tokens.close()  # the client went away mid-stream
    count = "inferwatch_inference_duration_seconds_count"
    assert value(registry, count, outcome="error", error_type="cancelled") == 1
