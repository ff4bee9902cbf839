"""Collector, drift engine and recorder together over real HTTP, as ``inferwatch up`` runs them.

The drift engine makes the baseline; the recorder fetches it from
``GET /drift/baselines/{model}``; the collector checks the recorder's shipped
summary against the same baseline (handed over in process as ``BASELINES``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from inferwatch.app import create_app
from inferwatch.exporters.recorder import PredictionRecorder
from inferwatch.exporters.recorder.baseline import load_baseline
from inferwatch.settings import load_settings
from inferwatch.stack import ServedApp

from .conftest import reference_frame


def test_drift_baseline_feeds_recorder_and_collector(
    tmp_path: Path, serve: Callable[[Any], ServedApp]
) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    server = serve(create_app(settings, ["collector", "drift"]))
    reference = reference_frame()
    created = httpx.post(
        f"{server.url}/drift/baselines/churn",
        content=reference.to_csv(index=False),
        headers={"content-type": "text/csv"},
        timeout=30,
    )
    assert created.status_code == 201, created.text

    baseline = load_baseline(drift_url=server.url, model="churn")
    assert set(baseline.feature_names) == set(reference.columns)
    recorder = PredictionRecorder(
        baseline, registry=CollectorRegistry(), collector_url=server.url, reservoir_size=20
    )
    recorder.record_batch(reference_frame(200, seed=9))
    recorder.flush()
    # One summary: all 200 records counted, 20 of them sampled.
    assert recorder.snapshot().shipped == 200, recorder.snapshot().dropped
    recorder.close()

    refused = httpx.post(
        f"{server.url}/collector/models/churn/records", json=[{"age": "old"}], timeout=30
    )
    assert refused.status_code == 422
    window = httpx.get(
        f"{server.url}/collector/models/churn/windows/latest",
        params={"include_open": True},
        timeout=30,
    ).json()
    assert window["rows"] == 200
    assert len(window["sample"]["columns"]["age"]) == 20
    assert sum(window["counts"]["age"]["counts"]) + window["counts"]["age"]["missing"] == 200
