"""Simulated LLM serving engines that expose the metrics vLLM, TGI, Triton and SGLang expose.

Each simulator keeps its own ``CollectorRegistry`` whose ``/metrics`` text carries
the engine's own names, types and labels (vLLM v0 and v1, TGI's router, Triton
with the TensorRT-LLM backend, SGLang), so the recording rules in
``alerts/recording/engines.yaml`` can be tested against a real Prometheus and the
demo can show an LLM engine without a GPU. Sources of every name: docs/llm-serving.md.

Like the fake NVML driver (``inferwatch.testing.nvml``), it ships with the product
because ``inferwatch demo`` serves one.

Example:
    >>> from prometheus_client import generate_latest
    >>> engine = VllmSim(model="llama")
    >>> engine.finish(SimRequest(duration=1.2, ttft=0.2, tpot=0.05))
    >>> engine.load(running=3, waiting=2, kv_cache_usage=0.4)
    >>> b'vllm:num_requests_waiting{engine="0",model_name="llama"} 2.0' in generate_latest(
    ...     engine.registry)
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = [
    "ENGINES",
    "EngineSim",
    "SglangSim",
    "SimRequest",
    "TgiSim",
    "TritonSim",
    "VllmSim",
    "app",
    "build",
]

# Bucket boundaries as the engines declare them (vllm/v1/metrics/loggers.py,
# sglang/srt/metrics/collector.py); TGI's and Triton's are set below.
VLLM_TTFT_BUCKETS = (
    0.001,
    0.005,
    0.01,
    0.02,
    0.04,
    0.06,
    0.08,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
VLLM_TPOT_BUCKETS = (
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.4,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
VLLM_REQUEST_BUCKETS = (
    0.3,
    0.5,
    0.8,
    1.0,
    1.5,
    2.0,
    2.5,
    5.0,
    10.0,
    15.0,
    20.0,
    30.0,
    40.0,
    50.0,
    60.0,
)
SGLANG_LATENCY_BUCKETS = (0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100)
SGLANG_ITL_BUCKETS = (
    0.002,
    0.004,
    0.006,
    0.008,
    0.01,
    0.015,
    0.02,
    0.025,
    0.03,
    0.035,
    0.04,
    0.06,
    0.08,
    0.1,
    0.2,
    0.4,
    0.6,
    0.8,
    1.0,
    2.0,
)
TGI_DURATION_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TGI_TOKEN_BUCKETS = (1, 8, 32, 128, 512, 2048, 8192)
TGI_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@dataclass(frozen=True)
class SimRequest:
    """One finished request, in seconds and tokens."""

    duration: float = 1.0
    ttft: float = 0.1
    tpot: float = 0.02
    queue: float = 0.05
    prompt_tokens: int = 100
    output_tokens: int = 40
    failed: bool = False
    batch_size: int = 4


class EngineSim(Protocol):
    """What every simulator offers: its registry, finished requests, and load."""

    engine: str
    model: str
    registry: CollectorRegistry

    def finish(self, request: SimRequest) -> None:
        """Count one finished request."""
        ...

    def load(self, *, running: int, waiting: int, kv_cache_usage: float) -> None:
        """Set the scheduler's gauges."""
        ...


class VllmSim:
    """vLLM's ``PrometheusStatLogger``: v1 (``engine`` label, ``kv_cache_usage_perc``,
    ``inter_token_latency_seconds``) or v0 (``gpu_cache_usage_perc``,
    ``time_per_output_token_seconds``)."""

    engine = "vllm"

    def __init__(self, model: str = "llama-vllm", *, v1: bool = True) -> None:
        self.model = model
        self.registry = CollectorRegistry()
        self.v1 = v1
        names = ["model_name", "engine"] if v1 else ["model_name"]
        self._labels = [model, "0"] if v1 else [model]
        reg = self.registry

        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, names, registry=reg)

        def hist(name: str, doc: str, buckets: Sequence[float]) -> Histogram:
            return Histogram(name, doc, names, buckets=buckets, registry=reg)

        self.running = gauge("vllm:num_requests_running", "Requests in model execution batches.")
        self.waiting = gauge("vllm:num_requests_waiting", "Requests waiting to be processed.")
        self.gpu_cache = gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage (1 = 100%).")
        self.kv_cache = gauge("vllm:kv_cache_usage_perc", "KV-cache usage.") if v1 else None
        self.prompt = Counter("vllm:prompt_tokens", "Prefill tokens.", names, registry=reg)
        self.generation = Counter("vllm:generation_tokens", "Generated.", names, registry=reg)
        self.success = Counter(
            "vllm:request_success", "Finished requests.", [*names, "finished_reason"], registry=reg
        )
        self.ttft = hist("vllm:time_to_first_token_seconds", "TTFT.", VLLM_TTFT_BUCKETS)
        tpot_name = (
            "vllm:inter_token_latency_seconds" if v1 else "vllm:time_per_output_token_seconds"
        )
        self.tpot = hist(tpot_name, "Time per output token.", VLLM_TPOT_BUCKETS)
        self.e2e = hist("vllm:e2e_request_latency_seconds", "E2E latency.", VLLM_REQUEST_BUCKETS)
        self.queue = hist("vllm:request_queue_time_seconds", "Time WAITING.", VLLM_REQUEST_BUCKETS)

    def finish(self, request: SimRequest) -> None:
        """Count one finished request (aborted when ``failed``)."""
        labels = self._labels
        self.success.labels(*labels, "abort" if request.failed else "stop").inc()
        self.e2e.labels(*labels).observe(request.duration)
        self.queue.labels(*labels).observe(request.queue)
        self.ttft.labels(*labels).observe(request.ttft)
        self.tpot.labels(*labels).observe(request.tpot)
        self.prompt.labels(*labels).inc(request.prompt_tokens)
        self.generation.labels(*labels).inc(request.output_tokens)

    def load(self, *, running: int, waiting: int, kv_cache_usage: float) -> None:
        """Set the scheduler gauges (v1 sets both cache gauges, as vLLM 0.9+ does)."""
        self.running.labels(*self._labels).set(running)
        self.waiting.labels(*self._labels).set(waiting)
        self.gpu_cache.labels(*self._labels).set(kv_cache_usage)
        if self.kv_cache is not None:
            self.kv_cache.labels(*self._labels).set(kv_cache_usage)


class SglangSim:
    """SGLang's ``SchedulerMetricsCollector`` and ``TokenizerMetricsCollector``."""

    engine = "sglang"

    def __init__(self, model: str = "llama-sglang") -> None:
        self.model = model
        self.registry = CollectorRegistry()
        names = ["model_name"]
        reg = self.registry

        def hist(name: str, doc: str, buckets: Sequence[float]) -> Histogram:
            return Histogram(name, doc, names, buckets=buckets, registry=reg)

        self.running = Gauge("sglang:num_running_reqs", "Running requests.", names, registry=reg)
        self.waiting = Gauge("sglang:num_queue_reqs", "Queued requests.", names, registry=reg)
        self.token_usage = Gauge("sglang:token_usage", "The token usage.", names, registry=reg)
        self.prompt = Counter("sglang:prompt_tokens", "Prefill tokens.", names, registry=reg)
        self.generation = Counter("sglang:generation_tokens", "Generated.", names, registry=reg)
        self.requests = Counter("sglang:num_requests", "Requests processed.", names, registry=reg)
        self.aborted = Counter("sglang:num_aborted_requests", "Aborted.", names, registry=reg)
        self.ttft = hist("sglang:time_to_first_token_seconds", "TTFT.", SGLANG_LATENCY_BUCKETS)
        self.itl = hist("sglang:inter_token_latency_seconds", "ITL.", SGLANG_ITL_BUCKETS)
        self.e2e = hist("sglang:e2e_request_latency_seconds", "E2E.", SGLANG_LATENCY_BUCKETS)
        self.queue = hist("sglang:queue_time_seconds", "Queueing time.", SGLANG_LATENCY_BUCKETS)

    def finish(self, request: SimRequest) -> None:
        """Count one finished request."""
        m = self.model
        self.requests.labels(m).inc()
        if request.failed:
            self.aborted.labels(m).inc()
        self.e2e.labels(m).observe(request.duration)
        self.queue.labels(m).observe(request.queue)
        self.ttft.labels(m).observe(request.ttft)
        self.itl.labels(m).observe(request.tpot)
        self.prompt.labels(m).inc(request.prompt_tokens)
        self.generation.labels(m).inc(request.output_tokens)

    def load(self, *, running: int, waiting: int, kv_cache_usage: float) -> None:
        """Set the scheduler gauges (``token_usage`` is the KV pool's used share)."""
        self.running.labels(self.model).set(running)
        self.waiting.labels(self.model).set(waiting)
        self.token_usage.labels(self.model).set(kv_cache_usage)


@dataclass(eq=False)
class _RawCounters(Collector):
    """Counters named without ``_total``, as Rust's metrics-exporter-prometheus and
    Triton's prometheus-cpp write them (prometheus_client would append ``_total``)."""

    help: dict[str, str]
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)

    def inc(self, name: str, labels: dict[str, str], amount: float = 1.0) -> None:
        key = (name, tuple(sorted(labels.items())))
        self.values[key] = self.values.get(key, 0.0) + amount

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        for (name, labels), value in sorted(self.values.items()):
            family = families.setdefault(name, Metric(name, self.help[name], "counter"))
            family.add_sample(name, dict(labels), value)
        return list(families.values())


class TgiSim:
    """TGI's router: no ``model`` label (one model per server), unsuffixed counters."""

    engine = "tgi"

    def __init__(self, model: str = "llama-tgi") -> None:
        self.model = model
        self.registry = CollectorRegistry()
        reg = self.registry
        self.counters = _RawCounters(
            {
                "tgi_request_count": "Total requests.",
                "tgi_request_success": "Successful requests.",
                "tgi_request_failure": "Failed requests, by error kind.",
            }
        )
        reg.register(self.counters)
        self.queue_size = Gauge("tgi_queue_size", "Requests in the queue.", registry=reg)
        self.batch_size = Gauge("tgi_batch_current_size", "Running batch size.", registry=reg)

        def hist(name: str, buckets: Sequence[float]) -> Histogram:
            return Histogram(name, name, buckets=buckets, registry=reg)

        self.duration = hist("tgi_request_duration", TGI_DURATION_BUCKETS)
        self.queue = hist("tgi_request_queue_duration", TGI_DURATION_BUCKETS)
        self.tpot = hist("tgi_request_mean_time_per_token_duration", TGI_DURATION_BUCKETS)
        self.input_length = hist("tgi_request_input_length", TGI_TOKEN_BUCKETS)
        self.generated = hist("tgi_request_generated_tokens", TGI_TOKEN_BUCKETS)
        self.next_batch = hist("tgi_batch_next_size", TGI_BATCH_BUCKETS)

    def finish(self, request: SimRequest) -> None:
        """Count one finished request (TGI records timings for successes only)."""
        self.counters.inc("tgi_request_count", {})
        if request.failed:
            self.counters.inc("tgi_request_failure", {"err": "overloaded"})
            return
        self.counters.inc("tgi_request_success", {})
        self.duration.observe(request.duration)
        self.queue.observe(request.queue)
        self.tpot.observe(request.tpot)
        self.input_length.observe(request.prompt_tokens)
        self.generated.observe(request.output_tokens)
        self.next_batch.observe(request.batch_size)

    def load(self, *, running: int, waiting: int, kv_cache_usage: float) -> None:
        """Set the queue and batch gauges (TGI exports no KV-cache use)."""
        self.queue_size.set(waiting)
        self.batch_size.set(running)


class TritonSim:
    """Triton's per-model counters (microseconds, no ``_total``) and the TensorRT-LLM
    backend's request and KV-cache gauges."""

    engine = "triton"
    HELP: ClassVar[dict[str, str]] = {
        "nv_inference_request_success": "Successful inference requests.",
        "nv_inference_request_failure": "Failed inference requests.",
        "nv_inference_count": "Inferences performed (a batch of n counts n).",
        "nv_inference_exec_count": "Batch executions.",
        "nv_inference_request_duration_us": "Cumulative request duration.",
        "nv_inference_queue_duration_us": "Cumulative queue duration.",
        "nv_inference_compute_infer_duration_us": "Cumulative compute duration.",
    }

    def __init__(self, model: str = "llama-triton") -> None:
        self.model = model
        self.registry = CollectorRegistry()
        self.counters = _RawCounters(dict(self.HELP))
        self.registry.register(self.counters)
        labels = ["model", "version"]
        self.pending = Gauge(
            "nv_inference_pending_request_count", "Pending.", labels, registry=self.registry
        )
        self.trt_requests = Gauge(
            "nv_trt_llm_request_metrics",
            "TRT LLM request metrics",
            [*labels, "request_type"],
            registry=self.registry,
        )
        self.trt_kv = Gauge(
            "nv_trt_llm_kv_cache_block_metrics",
            "TRT LLM KV cache block metrics",
            [*labels, "kv_cache_block_type"],
            registry=self.registry,
        )

    def finish(self, request: SimRequest) -> None:
        """Count one request, executed as part of a batch of ``batch_size``."""
        labels = {"model": self.model, "version": "1"}
        outcome = "failure" if request.failed else "success"
        self.counters.inc(f"nv_inference_request_{outcome}", labels)
        self.counters.inc("nv_inference_count", labels)
        self.counters.inc("nv_inference_exec_count", labels, 1.0 / request.batch_size)
        self.counters.inc("nv_inference_request_duration_us", labels, request.duration * 1e6)
        self.counters.inc("nv_inference_queue_duration_us", labels, request.queue * 1e6)
        compute = max(request.duration - request.queue, 0.0)
        self.counters.inc("nv_inference_compute_infer_duration_us", labels, compute * 1e6)

    def load(self, *, running: int, waiting: int, kv_cache_usage: float) -> None:
        """Set the pending count and the TensorRT-LLM gauges."""
        self.pending.labels(self.model, "1").set(waiting)
        self.trt_requests.labels(self.model, "1", "waiting").set(waiting)
        self.trt_requests.labels(self.model, "1", "scheduled").set(running)
        self.trt_requests.labels(self.model, "1", "active").set(running + waiting)
        self.trt_kv.labels(self.model, "1", "fraction").set(kv_cache_usage)
        self.trt_kv.labels(self.model, "1", "max").set(6240)
        self.trt_kv.labels(self.model, "1", "used").set(round(6240 * kv_cache_usage))


ENGINES = ("vllm", "vllm-v0", "tgi", "triton", "sglang")


def build(engine: str, model: str | None = None) -> EngineSim:
    """A simulator by name (one of ``ENGINES``)."""
    if engine == "vllm":
        return VllmSim(model or "llama-vllm")
    if engine == "vllm-v0":
        return VllmSim(model or "llama-vllm-v0", v1=False)
    if engine == "tgi":
        return TgiSim(model or "llama-tgi")
    if engine == "triton":
        return TritonSim(model or "llama-triton")
    if engine == "sglang":
        return SglangSim(model or "llama-sglang")
    raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")


def app(sim: EngineSim) -> Starlette:
    """An ASGI app serving the simulator's ``/metrics``, as the engine serves its own."""

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(sim.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/metrics", metrics)])
