"""The engine adapters (alerts/recording/engines.yaml): every recording rule has a promtool
case, and against a real Prometheus each simulated engine's own exposition comes out
under inferwatch's names with ``model`` set."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from inferwatch.alerts.rules.model import engine_rule_file
from inferwatch.stack import PrometheusProcess, ServedApp
from inferwatch.testing import engines as engine_fakes

pytestmark = pytest.mark.stack

ENGINE_TESTS = Path(__file__).parent / "promtool" / "engines_test.yaml"
MAPPED = (
    "gen_ai_server_request_duration_seconds_count",
    "inferwatch_gen_ai_server_token_usage_sum",
    "inferwatch_inference_active_requests",
    "inferwatch_inference_queued_requests",
    "inferwatch_inference_queue_duration_seconds_count",
)
NOT_EXPORTED = {
    # Triton has no token counters; TGI and Triton's core export no TTFT.
    "triton": {"inferwatch_gen_ai_server_token_usage_sum"},
}


def _records() -> set[tuple[str, str]]:
    found = set()
    for path in [engine_rule_file()]:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                found.add((rule["record"], rule["labels"]["serving_engine"]))
    return found


def test_promtool_accepts_the_recording_rules() -> None:
    binary = shutil.which("promtool")
    assert binary, "promtool is not on PATH; run scripts/setup.sh"
    for path in [engine_rule_file()]:
        result = subprocess.run(
            [binary, "check", "rules", str(path)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_every_recording_rule_has_a_promtool_case() -> None:
    cases = yaml.safe_load(ENGINE_TESTS.read_text())["tests"]
    exprs = [c["expr"] for test in cases for c in test.get("promql_expr_test", [])]
    missing = sorted(
        f"{record} ({engine})"
        for record, engine in _records()
        if not any(f'{record}{{serving_engine="{engine}"' in expr for expr in exprs)
    )
    assert missing == []


@dataclass
class TargetLabelledPrometheus(PrometheusProcess):
    """A Prometheus whose scrape targets each carry their own labels (as a ServiceMonitor's
    relabelling attaches ``model``, ``pod`` and ``namespace``)."""

    labels_by_target: dict[str, dict[str, str]] = field(default_factory=dict)

    def config(self) -> dict[str, Any]:
        config = super().config()
        config["scrape_configs"] = [
            {
                "job_name": f"engine-{i}",
                "static_configs": [{"targets": [target], "labels": labels}],
            }
            for i, (target, labels) in enumerate(self.labels_by_target.items())
        ]
        return config


@pytest.fixture(scope="module")
def engines() -> Any:
    """Every simulated engine served over HTTP, scraped by one Prometheus with the adapters."""
    sims = [engine_fakes.build(name) for name in engine_fakes.ENGINES]
    served = [ServedApp(engine_fakes.app(sim)).start() for sim in sims]
    labels = {}
    for sim, app in zip(sims, served, strict=True):
        target = {"pod": f"{sim.model}-0", "namespace": "serving"}
        if sim.engine == "tgi":
            target["model"] = sim.model  # TGI labels nothing by model
        labels[f"127.0.0.1:{app.port}"] = target
    prometheus = TargetLabelledPrometheus(
        labels_by_target=labels, rule_files=[engine_rule_file()], scrape_interval="1s"
    )
    prometheus.start()
    try:
        for step in range(4):
            for sim in sims:
                sim.load(running=2 + step, waiting=3 + step, kv_cache_usage=0.5)
                for i in range(5):
                    sim.finish(engine_fakes.SimRequest(failed=i == 0, batch_size=4))
            time.sleep(1.0)
        yield sims, prometheus
    finally:
        prometheus.cleanup()
        for app in served:
            app.stop()


@pytest.mark.parametrize("name", engine_fakes.ENGINES)
def test_each_engine_comes_out_under_inferwatch_names(engines: Any, name: str) -> None:
    sims, prometheus = engines
    sim = next(s for s in sims if s.model == engine_fakes.build(name).model)
    for metric in MAPPED:
        if metric in NOT_EXPORTED.get(sim.engine, set()):
            continue
        query = f'{metric}{{model="{sim.model}", pod="{sim.model}-0", namespace="serving"}}'
        result = prometheus.wait_for(query, timeout=20)
        assert result[0]["metric"]["serving_engine"] == sim.engine, query
    waiting = prometheus.wait_for(
        f'inferwatch_inference_queued_requests{{model="{sim.model}"}} >= 4', timeout=20
    )
    assert float(waiting[0]["value"][1]) >= 4


# Panels an engine cannot light, and why (docs/llm-serving.md, "What each engine gives").
EVERY_ENGINE_LACKS = {
    "Requests by status": "HTTP status codes come from instrument()'s HTTP middleware",
    "GPU utilisation of the serving pods": "GPU series come from the GPU exporter",
}
LACKS = {
    "vllm": {"Mean batch size": "vLLM exports no per-batch request count"},
    "vllm-v0": {"Mean batch size": "vLLM exports no per-batch request count"},
    "sglang": {"Mean batch size": "SGLang exports no per-batch request count"},
    "tgi": {
        "Time to first token": "TGI exports no time to first token",
        "KV-cache use": "TGI exports no KV-cache use",
    },
    "triton": {
        "p99 latency (slowest model)": "Triton exports cumulative durations, no histogram",
        "Latency percentiles": "Triton exports cumulative durations, no histogram",
        "Time to first token": "Triton's core exports no token timings",
        "Time per output token": "Triton's core exports no token timings",
        "Tokens / s": "Triton's core exports no token counts",
    },
}


@pytest.mark.parametrize("name", engine_fakes.ENGINES)
def test_each_engine_lights_the_inference_dashboard(engines: Any, name: str) -> None:
    from inferwatch.dashboards import catalog, inference
    from inferwatch.dashboards.queries import DEFAULT_VALUES, concrete, panel_queries

    _, prometheus = engines
    model = engine_fakes.build(name).model
    values = {**DEFAULT_VALUES, "model": model}
    lacks = {**EVERY_ENGINE_LACKS, **LACKS.get(name, {})}
    lit: set[str] = set()
    empty: set[str] = set()
    for query in panel_queries(catalog.load_generated()[inference.UID]):
        expr = concrete(query.expr, values)
        (lit if prometheus.query(expr) else empty).add(query.panel)
    assert empty - set(lacks) == set(), f"{name} leaves these panels empty"
    assert set(lacks) & lit == set(), "a panel listed as impossible has data: update LACKS"
