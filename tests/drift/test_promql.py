"""The histogram path: PromQL over the recorder's series, against a real Prometheus."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from inferwatch.contracts.binning import format_edge
from inferwatch.contracts.spec import FeatureSpec
from inferwatch.drift.baseline import Baseline
from inferwatch.drift.engine import DriftEngine
from inferwatch.drift.engine_errors import PromQLError
from inferwatch.drift.metrics import DriftCollector
from inferwatch.drift.promql import (
    PrometheusClient,
    Sample,
    decumulate,
    label_value,
    read_window_counts,
    window_queries,
)
from inferwatch.drift.settings import DriftSettings
from inferwatch.drift.store import BaselineStore, ResultStore
from inferwatch.httputil import redact_url
from inferwatch.stack import PrometheusProcess, ServedApp
from inferwatch.storage import open_storage


class RecorderSeries(Collector):
    """What the prediction recorder publishes: cumulative counts in the baseline's bins."""

    def __init__(self, baseline: Baseline) -> None:
        self.baseline = baseline
        self.counts = {
            s.name: np.zeros(len(s.bin_labels), dtype=np.int64) for s in baseline.features
        }
        self.missing = {s.name: 0 for s in baseline.features}

    def collect(self) -> Iterator[Metric]:
        labels = ["model", "model_version", "feature"]
        values = HistogramMetricFamily("inferwatch_feature_value", "values", labels=labels)
        categories = CounterMetricFamily(
            "inferwatch_feature_category", "categories", labels=[*labels, "category"]
        )
        missing = CounterMetricFamily("inferwatch_feature_missing", "missing", labels=labels)
        for spec in self.baseline.features:
            base = [self.baseline.model, "7", spec.name]
            counts = self.counts[spec.name]
            if spec.kind == "numeric":
                cumulative = np.cumsum(counts)
                buckets = [
                    (format_edge(e), float(c)) for e, c in zip(spec.edges, cumulative, strict=False)
                ]
                buckets.append(("+Inf", float(cumulative[-1])))
                values.add_metric(base, buckets=buckets, sum_value=0.0)
            else:
                for label, count in zip(spec.bin_labels, counts, strict=True):
                    categories.add_metric([*base, label], float(count))
            missing.add_metric(base, float(self.missing[spec.name]))
        yield from (values, categories, missing)


def _recorder_app(series: RecorderSeries) -> FastAPI:
    registry = CollectorRegistry()
    registry.register(series)
    app = FastAPI()

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _reference(rows: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "x": rng.normal(0.0, 1.0, rows),
            "plan": rng.choice(["free", "pro", "team"], rows, p=[0.6, 0.3, 0.1]),
        }
    )


@pytest.mark.stack
def test_engine_reads_windows_from_a_real_prometheus(
    tmp_path: Path,
    serve: Callable[[Any], ServedApp],
    prometheus_factory: Callable[..., PrometheusProcess],
) -> None:
    storage = open_storage(tmp_path / "state.db")
    storage.migrate()
    baselines = BaselineStore(storage)
    baseline = baselines.create("churn", _reference(), bins=5)
    series = RecorderSeries(baseline)
    app = serve(_recorder_app(series))
    prometheus = prometheus_factory(scrape_targets=[app.url.removeprefix("http://")])
    prometheus.wait_for('inferwatch_feature_missing_total{model="churn"}')

    x_counts = np.asarray(baseline.feature("x").reference_counts) * 2  # same shape: no drift
    plan_counts = np.array([600, 1200, 3000, 200])  # free, pro, team, other: a new mix
    series.counts["x"] += x_counts
    series.counts["plan"] += plan_counts
    series.missing["x"] += 60
    # negative edges: the exposition has no _count, so wait on the +Inf bucket
    prometheus.wait_for('inferwatch_feature_value_bucket{model="churn",le="+Inf"} > 0')

    client = PrometheusClient(prometheus.url)
    counts = read_window_counts(client, baseline, window_seconds=120)
    read_x = np.asarray(counts["x"].counts, dtype=float)
    # increase() extrapolates, by the same factor for every series of one scrape target
    factor = read_x.sum() / x_counts.sum()
    assert 0.9 < factor < 2.5  # at most ~2 with only two scrapes in the window
    np.testing.assert_allclose(read_x / read_x.sum(), x_counts / x_counts.sum(), atol=0.005)
    read_plan = np.asarray(counts["plan"].counts, dtype=float)
    np.testing.assert_allclose(
        read_plan / read_plan.sum(), plan_counts / plan_counts.sum(), atol=0.005
    )
    assert counts["x"].missing == pytest.approx(60 * factor, abs=2)
    assert counts["plan"].missing == 0

    registry = CollectorRegistry()
    engine = DriftEngine(
        baselines,
        ResultStore(storage),
        DriftSettings(prometheus_url=prometheus.url, window_seconds=120),
        prometheus=client,
    )
    registry.register(DriftCollector(engine.board))
    evaluation = engine.evaluate("churn")
    assert evaluation is not None
    assert evaluation.path == "histogram"
    assert evaluation.drift_detected
    assert evaluation.drifted_features == ("plan",)
    assert evaluation.window_end is not None and evaluation.window_start is not None
    assert (evaluation.window_end - evaluation.window_start).total_seconds() == 120
    assert registry.get_sample_value("inferwatch_drift_dataset_detected", {"model": "churn"}) == 1

    # a baseline whose edges the recorder does not publish is an error, counted, never re-binned
    baselines.create("churn", _reference(), bins=7)
    with pytest.raises(PromQLError, match="no bucket"):
        engine.evaluate("churn")
    assert (
        registry.get_sample_value(
            "inferwatch_drift_evaluations_total", {"model": "churn", "outcome": "error"}
        )
        == 1
    )

    with pytest.raises(PromQLError, match="failed"):
        client.query("sum(")
    client.close()


def test_unreachable_or_odd_answers_are_promql_errors() -> None:
    with pytest.raises(PromQLError, match="unreachable"):
        PrometheusClient("http://user:secret@127.0.0.1:9", timeout=0.5).query("up")
    try:
        PrometheusClient("http://user:secret@127.0.0.1:9", timeout=0.5).query("up")
    except PromQLError as exc:
        assert "secret" not in str(exc)

    def matrix(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"status": "success", "data": {"resultType": "matrix", "result": []}}
        )

    odd = PrometheusClient(
        "http://prom", client=httpx.Client(transport=httpx.MockTransport(matrix))
    )
    with pytest.raises(PromQLError, match="not a vector"):
        odd.query("up[5m]")

    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    proxy = PrometheusClient(
        "http://prom", client=httpx.Client(transport=httpx.MockTransport(html))
    )
    with pytest.raises(PromQLError, match="HTTP 502"):
        proxy.query("up")


def test_decumulate_turns_le_buckets_into_the_baselines_bins() -> None:
    spec = FeatureSpec(
        name="x", kind="numeric", edges=(0.5, 1.0, 2.0), reference_counts=(1, 1, 1, 1)
    )
    buckets = [
        Sample({"le": "0.5"}, 10.4),
        Sample({"le": "1.0"}, 30.0),
        Sample({"le": "1.5"}, 31.0),  # a bucket the baseline does not have: ignored
        Sample({"le": "2"}, 45.0),
        Sample({"le": "+Inf"}, 50.0),
    ]
    assert decumulate(spec, buckets) == [10, 20, 15, 5]
    assert decumulate(spec, []) == [0, 0, 0, 0]
    with pytest.raises(PromQLError, match=r"le=2\.0"):
        decumulate(spec, [s for s in buckets if s.labels["le"] != "2"])


def test_label_values_are_escaped_and_urls_redacted() -> None:
    assert label_value('a"b\\c') == '"a\\"b\\\\c"'
    assert 'model="m-1"' in window_queries("m-1", 300)["buckets"]
    assert "[300s]" in window_queries("m-1", 300)["missing"]
    # One redaction for every part (inferwatch.httputil): credentials go, harmless query stays.
    assert (
        redact_url("https://u:p@prom.example:9090/api?x=1")
        == "https://***@prom.example:9090/api?x=1"
    )


@pytest.mark.stack
def test_engine_reads_what_the_real_prediction_recorder_publishes(
    tmp_path: Path,
    serve: Callable[[Any], ServedApp],
    prometheus_factory: Callable[..., PrometheusProcess],
) -> None:
    from inferwatch.exporters.recorder import PredictionRecorder

    storage = open_storage(tmp_path / "state.db")
    storage.migrate()
    baselines = BaselineStore(storage)
    baseline = baselines.create("fraud", _reference(), bins=8)
    registry = CollectorRegistry()
    recorder = PredictionRecorder(
        baseline, registry=registry, model_version="3", seed=1, expose_bins=True
    )
    app = FastAPI()

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    served = serve(app)
    prometheus = prometheus_factory(scrape_targets=[served.url.removeprefix("http://")])
    prometheus.wait_for('inferwatch_feature_missing_total{model="fraud"}')
    live = _reference(1500)
    live["x"] = live["x"] + 1.0  # a mean shift the recorder bins like the baseline
    recorder.record_batch(live)
    prometheus.wait_for('inferwatch_feature_value_bucket{model="fraud",le="+Inf"} > 0')

    client = PrometheusClient(prometheus.url)
    engine = DriftEngine(
        baselines,
        ResultStore(storage),
        DriftSettings(prometheus_url=prometheus.url, window_seconds=300),
        prometheus=client,
    )
    evaluation = engine.evaluate("fraud")
    client.close()
    recorder.close()
    assert evaluation is not None and evaluation.path == "histogram"
    assert 1400 <= evaluation.rows <= 1500 * 2.5  # increase() extrapolates
    assert evaluation.drifted_features == ("x",)
