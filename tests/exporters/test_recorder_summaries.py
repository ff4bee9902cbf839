"""Recorders ship window summaries to a real collector over HTTP, which merges them.

Two recorders ("pods") of one model ship to one served collector: the window holds every
record, the counts of both pods added, and a sample within the bound. A summary binned
against another baseline version answers 409, a malformed one 422 naming the fault, and a
collector that is away makes the recorder queue, retry and drop, counted.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from inferwatch.app import create_app
from inferwatch.contracts.summary import summarise
from inferwatch.drift.baseline import Baseline, infer_baseline
from inferwatch.exporters.recorder import PredictionRecorder
from inferwatch.settings import load_settings
from inferwatch.stack import ServedApp, free_port


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40, 10, rows),
            "plan": rng.choice(["basic", "plus", "pro", "max"], rows),
        }
    )


@pytest.fixture
def baseline() -> Baseline:
    return infer_baseline("churn", frame(600, 1), bins=4, top_k=2)


def served_collector(
    tmp_path: Path, baseline: Baseline, serve: Callable[[Any], ServedApp], version: int = 0
) -> ServedApp:
    directory = tmp_path / "baselines"
    directory.mkdir()
    data = baseline.to_dict()
    if version:
        data["version"] = version
    (directory / "churn.json").write_text(json.dumps(data))
    settings = load_settings(
        data_dir=tmp_path / "data",
        collector={"baseline_dir": str(directory), "reservoir_size": 50},
    )
    return serve(create_app(settings, ["collector"]))


def test_two_pods_summaries_merge_into_one_window(
    tmp_path: Path, baseline: Baseline, serve: Callable[[Any], ServedApp]
) -> None:
    server = served_collector(tmp_path, baseline, serve)
    pods = [
        PredictionRecorder(
            baseline,
            registry=None,
            collector_url=server.url,
            reservoir_size=30,
            flush_interval_seconds=3600,
            seed=i,
        )
        for i in range(2)
    ]
    pods[0].record_batch(frame(400, 2))
    for row in frame(100, 3).to_dict("records"):
        pods[1].record(row)
    pods[1].record({"age": None, "plan": None})
    first, second = (counts_of(p) for p in pods)
    expected = {
        f.name: [a + b for a, b in zip(first[f.name], second[f.name], strict=True)]
        for f in baseline.features
    }
    for pod in pods:
        pod.flush()
    assert [p.snapshot().shipped for p in pods] == [400, 101]
    assert all(p.snapshot().dropped == () and p.snapshot().queued == 0 for p in pods)
    window = httpx.get(
        f"{server.url}/collector/models/churn/windows/latest", params={"include_open": True}
    ).json()
    assert window["rows"] == 501
    assert window["baseline_version"] == baseline.version
    assert {name: c["counts"] for name, c in window["counts"].items()} == expected
    assert window["counts"]["age"]["missing"] == 1
    assert window["counts"]["age"]["sum"] == pytest.approx(
        frame(400, 2)["age"].sum() + frame(100, 3)["age"].sum()
    )
    sampled = window["sample"]["columns"]["age"]
    # Every row is kept at the same rate, the lowest a pod shipped (30 of 400): 37 of the
    # 501, more than either pod's 30 (the window's reservoir keeps up to 50).
    assert len(sampled) == int(30 / 400 * 501) == 37
    sent = [*frame(400, 2)["age"], *frame(100, 3)["age"]]
    # sample numbers travel at float32 precision (contracts.summary.wire_number)
    assert {None if v is None else np.float32(v) for v in sampled} <= {
        None,
        *np.array(sent, dtype=np.float32),
    }
    # Nothing more since: the next interval's summary is empty and not sent.
    pods[0].flush()
    assert pods[0].snapshot().shipped == 400
    for pod in pods:
        pod.close()


def counts_of(recorder: PredictionRecorder) -> dict[str, tuple[int, ...]]:
    snap = recorder.snapshot()
    return {f.name: f.counts for f in (*snap.numeric, *snap.categorical)}


def test_other_baseline_version_is_409_and_malformed_is_422(
    tmp_path: Path, baseline: Baseline, serve: Callable[[Any], ServedApp]
) -> None:
    server = served_collector(tmp_path, baseline, serve, version=baseline.version + 1)
    url = f"{server.url}/collector/models/churn/summaries"
    rows = frame(20, 4).to_dict("records")
    summary = summarise(baseline, rows, start=0, end=10, capacity=5, rng=np.random.default_rng(0))
    gz = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    odd_key = httpx.post(url, content=summary.to_wire(), headers=gz | {"Idempotency-Key": "a b"})
    assert odd_key.status_code == 422 and "Idempotency-Key" in odd_key.json()["detail"]
    stale = httpx.post(url, content=summary.to_wire(), headers=gz)
    assert stale.status_code == 409
    assert f"current version is {baseline.version + 1}" in stale.json()["detail"]

    # The recorder counts it as dropped for that reason and ships nothing twice.
    pod = PredictionRecorder(baseline, registry=None, collector_url=server.url)
    pod.record_batch(frame(7, 5))
    pod.flush()
    assert dict(pod.snapshot().dropped) == {"baseline_version": 7}
    assert pod.snapshot().queued == 0
    pod.close()

    data = summary.to_dict()
    data["baseline_version"] = baseline.version + 1
    data["features"][0]["counts"] = [*data["features"][0]["counts"], 0]
    wrong_bins = httpx.post(url, content=gzip.compress(json.dumps(data).encode()), headers=gz)
    assert wrong_bins.status_code == 422
    bins = len(baseline.feature("age").bin_labels)
    assert f"'age' has {bins + 1} bins; baseline version 2 has {bins}" in wrong_bins.text
    not_gzip = httpx.post(url, content=b"{", headers=gz)
    assert not_gzip.status_code == 422 and "not gzip" in not_gzip.json()["detail"]
    data = summary.to_dict() | {"baseline_version": baseline.version + 1, "rows": 21}
    plain = httpx.post(url, json=data)
    assert plain.status_code == 422
    assert "is not the summary's 21 rows" in plain.json()["detail"]
    assert httpx.get(f"{server.url}/collector/models").json()["models"] == []


def test_collector_away_queues_retries_then_drops_counted(baseline: Baseline) -> None:
    registry = CollectorRegistry()
    pod = PredictionRecorder(
        baseline,
        registry=registry,
        collector_url=f"http://127.0.0.1:{free_port()}",
        flush_interval_seconds=3600,
        timeout_seconds=0.5,
        max_pending_summaries=2,
    )
    for size in (3, 4, 5):
        pod.record_batch(frame(size, size))
        pod.flush()  # the first try fails; later ones wait for the backoff
    snap = pod.snapshot()
    assert snap.shipped == 0
    assert snap.queued == 2
    assert dict(snap.dropped) == {"queue_full": 3}
    text = generate_latest(registry).decode()
    assert 'inferwatch_recorder_queued_windows{model="churn"} 2.0' in text
    assert 'inferwatch_recorder_dropped_total{model="churn",reason="queue_full"} 3.0' in text
    started = time.monotonic()
    pod.close()  # the last try fails too: what waits is dropped, counted
    assert time.monotonic() - started < 10
    assert dict(pod.snapshot().dropped) == {"queue_full": 3, "collector_unavailable": 9}
    assert pod.snapshot().queued == 0


def test_by_default_a_recorder_exposes_its_health_not_its_bins(baseline: Baseline) -> None:
    registry = CollectorRegistry()
    pod = PredictionRecorder(baseline, registry=registry)
    pod.record_batch(frame(50, 6))
    names = {
        line.split("{")[0].split(" ")[0]
        for line in generate_latest(registry).decode().splitlines()
        if line and not line.startswith("#")
    }
    assert names == {
        "inferwatch_prediction_records_total",
        "inferwatch_recorder_shipped_total",
        "inferwatch_recorder_queued_windows",
    }
    pod.close()
    opted = CollectorRegistry()
    histogram = PredictionRecorder(baseline, registry=opted, expose_bins=True)
    histogram.record_batch(frame(50, 6))
    assert "inferwatch_feature_value_bucket" in generate_latest(opted).decode()
    histogram.close()


def test_negative_first_edge_keeps_count_and_sum() -> None:
    """client_python drops ``_count``/``_sum`` when the first edge is negative; the
    recorder adds them back, and the exposition still passes promtool."""
    import subprocess

    from inferwatch.contracts.spec import BaselineSpec, FeatureSpec

    spec = BaselineSpec("neg", 1, (FeatureSpec("t", "numeric", edges=(-5.0, 0.0, 5.0)),))
    registry = CollectorRegistry()
    pod = PredictionRecorder(spec, registry=registry, expose_bins=True)
    pod.record_batch({"t": [-7.0, -1.0, 2.0, 9.0, None]})
    text = generate_latest(registry).decode()
    assert 'inferwatch_feature_value_count{feature="t",model="neg",model_version=""} 4.0' in text
    assert 'inferwatch_feature_value_sum{feature="t",model="neg",model_version=""} 3.0' in text
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=text.encode(), capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    pod.close()


def test_recorder_fails_over_to_the_next_collector_replica(
    tmp_path: Path, baseline: Baseline, serve: Callable[[Any], ServedApp]
) -> None:
    from inferwatch.exporters.recorder.settings import RecorderSettings

    live = served_collector(tmp_path, baseline, serve)
    dead = f"http://127.0.0.1:{free_port()}"
    file = tmp_path / "baseline.json"
    file.write_text(json.dumps(baseline.to_dict()))
    settings = RecorderSettings(
        baseline_file=file,
        collector_url=dead,
        collector_urls=[live.url],
        flush_interval_seconds=3600,
        timeout_seconds=0.5,
    )
    pod = PredictionRecorder.from_settings(settings, registry=None)
    pod.record_batch(frame(12, 7))
    pod.flush()  # the dead replica refuses; the same flush delivers to the live one
    assert (pod.snapshot().shipped, pod.snapshot().dropped, pod.snapshot().queued) == (12, (), 0)
    assert pod.shipper.url is not None and pod.shipper.url.startswith(live.url)
    pod.record_batch(frame(5, 8))
    pod.flush()  # and it stays there
    assert pod.snapshot().shipped == 17
    window = httpx.get(
        f"{live.url}/collector/models/churn/windows/latest", params={"include_open": True}
    ).json()
    assert window["rows"] == 17
    pod.close()

    # every replica away: one turn over both, then the backoff; nothing dropped yet
    away = PredictionRecorder(
        baseline,
        registry=None,
        collector_url=[dead, f"http://127.0.0.1:{free_port()}"],
        flush_interval_seconds=3600,
        timeout_seconds=0.5,
    )
    away.record_batch(frame(4, 9))
    away.flush()
    assert (away.snapshot().shipped, away.snapshot().dropped, away.snapshot().queued) == (0, (), 1)
    assert away.shipper.url == away.shipper.urls[0]  # a full turn brings it back to the first
    away.close()
    assert dict(away.snapshot().dropped) == {"collector_unavailable": 4}


class LosesFirstAnswer(httpx.BaseTransport):
    """Delivers every request; the first answer is lost on the way back (a read timeout)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("Idempotency-Key"))
        response = self.inner.handle_request(request)
        if len(self.keys) == 1:
            response.read()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


def test_a_summary_whose_answer_was_lost_is_resent_and_merged_once(
    tmp_path: Path, baseline: Baseline, serve: Callable[[Any], ServedApp]
) -> None:
    from inferwatch.exporters.recorder._shipper import Shipper

    server = served_collector(tmp_path, baseline, serve)
    pod = PredictionRecorder(baseline, registry=None, reservoir_size=30)
    transport = LosesFirstAnswer()
    shipper = Shipper(
        pod,
        collector_url=server.url,
        interval_seconds=3600,
        timeout_seconds=5,
        transport=transport,
    )
    pod.record_batch(frame(400, 2))
    shipper.ship_once()  # delivered and committed, but the pod never hears so
    assert shipper.queued == 1 and shipper.shipped == 0
    shipper.ship_once(final=True)  # sent again, under the same key
    assert shipper.queued == 0 and shipper.shipped == 400
    assert len(transport.keys) == 2 and transport.keys[0] == transport.keys[1] is not None
    window = httpx.get(
        f"{server.url}/collector/models/churn/windows/latest",
        params={"include_open": True, "sample": False},
    ).json()
    assert window["rows"] == 400
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'inferwatch_collector_duplicate_summaries_total{model="churn"} 1.0' in metrics
    shipper.stop()
    pod.close()


def test_fail_over_resends_a_summary_under_its_key_and_it_is_merged_once(
    tmp_path: Path, baseline: Baseline, serve: Callable[[Any], ServedApp]
) -> None:
    from inferwatch.exporters.recorder._shipper import Shipper

    server = served_collector(tmp_path, baseline, serve)
    # two names of one collector stand for two replicas of one store
    replicas = [server.url, server.url.replace("127.0.0.1", "localhost")]
    pod = PredictionRecorder(baseline, registry=None, reservoir_size=30)
    transport = LosesFirstAnswer()
    shipper = Shipper(
        pod, collector_url=replicas, interval_seconds=3600, timeout_seconds=5, transport=transport
    )
    pod.record_batch(frame(400, 2))
    shipper.ship_once()  # the first replica commits, its answer is lost; the second gets it
    assert shipper.queued == 0 and shipper.shipped == 400
    assert shipper.url is not None and shipper.url.startswith(replicas[1])
    assert len(transport.keys) == 2 and transport.keys[0] == transport.keys[1] is not None
    window = httpx.get(
        f"{server.url}/collector/models/churn/windows/latest",
        params={"include_open": True, "sample": False},
    ).json()
    assert window["rows"] == 400
    shipper.stop()
    pod.close()


def test_the_collectors_sample_rate_thins_the_next_summarys_sample(
    tmp_path: Path, baseline: Baseline, serve: Callable[[Any], ServedApp]
) -> None:
    """A window that keeps 50 rows answers its rate; the pod's next sample follows it."""
    from inferwatch.exporters.recorder._shipper import Shipper, thinned
    from inferwatch.exporters.recorder.settings import MIN_SAMPLE_ROWS

    server = served_collector(tmp_path, baseline, serve)  # collector reservoir: 50 rows
    pod = PredictionRecorder(baseline, registry=None, reservoir_size=400)
    sent: list[int] = []

    class Counting(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            body = json.loads(gzip.decompress(request.read()))
            sent.append(len(next(iter(body["sample"]["columns"].values()))))
            return super().handle_request(request)

    shipper = Shipper(
        pod,
        collector_url=server.url,
        interval_seconds=3600,
        timeout_seconds=5,
        transport=Counting(),
    )
    for _ in range(2):
        pod.record_batch(frame(400, 2))
        shipper.ship_once()
    assert sent == [400, 100]  # 2 x 50 / 400 rows after the first merge, of the next 400
    shipper.stop()
    pod.close()

    summary = summarise(
        baseline,
        frame(1000, 3).to_dict("records"),
        start=0,
        end=10,
        capacity=200,
        rng=np.random.default_rng(1),
    )
    rng = np.random.default_rng(2)
    assert thinned(summary, 1.0, rng) is summary
    cut = thinned(summary, 0.02, rng)
    assert len(cut.sample) == 20 and set(map(str, cut.sample)) <= set(map(str, summary.sample))
    assert cut.sampled_from == summary.sampled_from and cut.features == summary.features
    assert len(thinned(summary, 1e-6, rng).sample) == MIN_SAMPLE_ROWS
