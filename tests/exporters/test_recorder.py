"""The prediction recorder: binning, exposition, reservoir, shipping to a real collector."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from inferwatch.app import create_app
from inferwatch.drift.baseline import Baseline, infer_baseline
from inferwatch.errors import ConfigError
from inferwatch.exporters.recorder import PredictionRecorder
from inferwatch.exporters.recorder.baseline import load_baseline
from inferwatch.exporters.recorder.settings import RecorderSettings
from inferwatch.settings import load_settings
from inferwatch.stack import ServedApp, free_port


def frame(rows: int = 600, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, rows),
            "plan": rng.choice(["basic", "plus", "pro", "max"], rows),
            "vip": rng.random(rows) > 0.6,
            "prediction": rng.random(rows),
        }
    )


@pytest.fixture
def baseline() -> Baseline:
    return infer_baseline("churn", frame(), bins=4, top_k=2)


def live_rows() -> list[dict[str, Any]]:
    live: list[dict[str, Any]] = frame(300, seed=2).drop(columns="prediction").to_dict("records")
    live[0]["age"] = None
    live[1]["age"] = float("nan")
    live[2]["age"] = "not a number"
    live[3]["plan"] = None
    live[4]["plan"] = "unheard-of"
    del live[5]["vip"]
    return live


def counts_of(recorder: PredictionRecorder) -> dict[str, tuple[int, ...]]:
    snap = recorder.snapshot()
    return {f.name: f.counts for f in (*snap.numeric, *snap.categorical)}


def test_record_counts_match_the_baselines_own_binning(baseline: Baseline) -> None:
    recorder = PredictionRecorder(baseline, registry=None)
    rows = live_rows()
    predictions = list(np.linspace(0, 1, len(rows)))
    for row, prediction in zip(rows, predictions, strict=True):
        recorder.record(row, prediction=prediction)
    live = pd.DataFrame(rows)
    live["prediction"] = predictions
    expected = {
        spec.name: tuple(int(c) for c in spec.count(live[spec.name])[0])
        for spec in baseline.features
    }
    assert counts_of(recorder) == expected
    missing = dict(recorder.snapshot().missing)
    assert missing["age"] == 3  # None, NaN and an unparsable string
    assert missing["plan"] == 1
    assert missing["vip"] == 1
    assert recorder.snapshot().records == len(rows)


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(pd.DataFrame, id="dataframe"),
        pytest.param(lambda rows: rows, id="list-of-rows"),
        pytest.param(lambda rows: pd.DataFrame(rows).to_dict("list"), id="columns"),
    ],
)
def test_record_batch_equals_record(baseline: Baseline, shape: Callable[[Any], Any]) -> None:
    rows = live_rows()
    one, many = (
        PredictionRecorder(baseline, registry=None),
        PredictionRecorder(baseline, registry=None),
    )
    for row in rows:
        one.record(row)
    many.record_batch(shape(rows))
    assert counts_of(many) == counts_of(one)
    assert dict(many.snapshot().missing) == dict(one.snapshot().missing)
    assert many.snapshot().numeric[0].sum == pytest.approx(one.snapshot().numeric[0].sum)


def test_exposition_uses_contract_names_and_passes_promtool(baseline: Baseline) -> None:
    registry = CollectorRegistry()
    recorder = PredictionRecorder(baseline, registry=registry, model_version="7", expose_bins=True)
    recorder.record_batch(live_rows())
    other = PredictionRecorder(
        infer_baseline("fraud", frame()[["age"]]),
        registry=registry,
        model_version="1",
        expose_bins=True,
    )
    other.record({"age": 3})
    text = generate_latest(registry).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["inferwatch_feature_value"].type == "histogram"
    buckets = [
        s
        for s in families["inferwatch_feature_value"].samples
        if s.name.endswith("_bucket")
        and s.labels["model"] == "churn"
        and s.labels["feature"] == "age"
    ]
    edges = baseline.feature("age").edges
    assert [s.labels["le"] for s in buckets[:-1]] == [repr(float(e)) for e in edges]
    assert buckets[-1].labels["le"] == "+Inf"
    assert buckets[-1].value == 300 - 3
    assert buckets[0].labels == {
        "model": "churn",
        "model_version": "7",
        "feature": "age",
        "le": buckets[0].labels["le"],
    }
    categories = {
        (s.labels["feature"], s.labels["category"]): s.value
        for s in families["inferwatch_feature_category"].samples
    }
    assert categories[("plan", "__other__")] >= 1
    assert ("vip", "true") in categories
    assert "inferwatch_feature_missing_total" in text
    assert 'inferwatch_prediction_records_total{model="fraud",model_version="1"} 1.0' in text
    promtool = subprocess.run(
        ["promtool", "check", "metrics"], input=text.encode(), capture_output=True, check=False
    )
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    recorder.close()
    assert 'model="churn"' not in generate_latest(registry).decode()


def test_nan_is_missing_but_the_string_nan_is_a_category(baseline: Baseline) -> None:
    recorder = PredictionRecorder(baseline, registry=None)
    recorder.record({"age": float("nan"), "plan": float("nan")})
    recorder.record({"age": np.float64("nan"), "plan": "nan", "vip": np.True_})
    missing = dict(recorder.snapshot().missing)
    assert missing["age"] == 2
    assert missing["plan"] == 1
    plan = next(c for c in recorder.snapshot().categorical if c.name == "plan")
    assert plan.counts[-1] == 1  # "nan" is outside the vocabulary: __other__
    vip = next(c for c in recorder.snapshot().categorical if c.name == "vip")
    assert vip.counts[vip.labels.index("true")] == 1


def test_reservoir_is_bounded(baseline: Baseline) -> None:
    recorder = PredictionRecorder(baseline, registry=None, reservoir_size=25, seed=1)
    for row in live_rows():
        recorder.record(row)
    recorder.record_batch(frame(5000, seed=3))
    sample, seen = recorder.take_sample()
    assert len(sample) == 25
    assert seen == 5300
    assert recorder.take_sample() == ([], 0)


def served_collector(
    tmp_path: Path, baseline: Baseline, serve: Callable[[Any], ServedApp]
) -> ServedApp:
    directory = tmp_path / "baselines"
    directory.mkdir()
    (directory / "churn.json").write_text(json.dumps(baseline.to_dict()))
    settings = load_settings(data_dir=tmp_path / "data", collector={"baseline_dir": str(directory)})
    return serve(create_app(settings, ["collector"]))


def test_sample_is_shipped_to_a_real_collector(
    tmp_path: Path, baseline: Baseline, serve: Callable[[Any], ServedApp]
) -> None:
    server = served_collector(tmp_path, baseline, serve)
    recorder = PredictionRecorder(
        baseline,
        registry=None,
        collector_url=server.url,
        reservoir_size=40,
        flush_interval_seconds=3600,
        ship="records",
    )
    for row in live_rows():  # bad values are cleaned, not sent to be refused
        recorder.record(row, prediction=0.5)
    recorder.flush()
    window = httpx.get(
        f"{server.url}/collector/models/churn/windows/latest", params={"include_open": True}
    ).json()
    assert window["rows"] == 40
    assert set(window["sample"]["columns"]) == {"age", "plan", "vip", "prediction"}
    assert set(window["sample"]["columns"]["prediction"]) == {0.5}
    assert recorder.snapshot().shipped == 40
    assert recorder.snapshot().dropped == ()
    recorder.close()


def test_collector_down_drops_and_counts_without_blocking(baseline: Baseline) -> None:
    registry = CollectorRegistry()
    recorder = PredictionRecorder(
        baseline,
        registry=registry,
        collector_url=f"http://127.0.0.1:{free_port()}",
        reservoir_size=10,
        flush_interval_seconds=0.05,
        timeout_seconds=0.5,
        ship="records",
    )
    deadline = time.monotonic() + 10
    while not recorder.snapshot().dropped and time.monotonic() < deadline:
        for row in live_rows()[:50]:
            recorder.record(row)
        time.sleep(0.05)
    dropped = dict(recorder.snapshot().dropped)
    assert dropped["collector_unavailable"] >= 10
    assert len(recorder.take_sample()[0]) <= 10
    text = generate_latest(registry).decode()
    assert 'inferwatch_recorder_dropped_total{model="churn",reason="collector_unavailable"}' in text
    recorder.close()
    recorder.close()  # idempotent


def test_collector_refusal_is_counted_as_rejected(
    tmp_path: Path, baseline: Baseline, serve: Callable[[Any], ServedApp]
) -> None:
    narrow = infer_baseline("churn", frame()[["age"]])  # the collector knows only `age`
    server = served_collector(tmp_path, narrow, serve)
    recorder = PredictionRecorder(baseline, registry=None, collector_url=server.url, ship="records")
    recorder.record({"age": 1.0, "plan": "pro"})
    recorder.flush()
    assert dict(recorder.snapshot().dropped) == {"rejected": 1}
    recorder.close()


def test_baseline_from_file_and_from_the_drift_service(tmp_path: Path, baseline: Baseline) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(baseline.to_dict()))
    assert load_baseline(file=path).feature_names == baseline.feature_names

    def drift(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/drift/baselines/churn":
            assert request.headers["Authorization"] == "Bearer t"
            return httpx.Response(200, json={**baseline.to_dict(), "sample_rows": 5})
        return httpx.Response(404, json={"detail": "no baseline"})

    transport = httpx.MockTransport(drift)
    fetched = load_baseline(
        drift_url="http://drift:8686/", model="churn", api_token="t", transport=transport
    )
    assert fetched.features == baseline.features
    with pytest.raises(ConfigError, match="404"):
        load_baseline(drift_url="http://drift:8686", model="nope", transport=transport)
    with pytest.raises(ConfigError, match="baseline_file"):
        load_baseline()
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ConfigError, match="does not hold a baseline"):
        load_baseline(file=bad)


def test_from_settings(tmp_path: Path, baseline: Baseline) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(baseline.to_dict()))
    settings = RecorderSettings(baseline_file=path, model_version="3", reservoir_size=5)
    recorder = PredictionRecorder.from_settings(settings, registry=None)
    assert recorder.model == "churn"
    assert recorder.model_version == "3"
    assert recorder.reservoir_size == 5
    recorder.close()
