"""A drift engine without a collector beside it reads the collectors' windows from the store.

Two services on one state store, as the Helm chart runs them: a collector-only one (it
finds the model's baseline in the store, not in a directory) takes the pods' summaries;
a drift-only one evaluates the merged window (counts over all traffic, the merged sample
for KS) and serves its report. Nothing is handed over in memory.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi.testclient import TestClient

from inferwatch.app import create_app
from inferwatch.contracts.spec import BaselineSpec
from inferwatch.contracts.summary import summarise
from inferwatch.settings import Settings, load_settings


def _frame(seed: int, rows: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, rows),
            "plan": rng.choice(["free", "pro", "team"], rows, p=[0.6, 0.3, 0.1]),
        }
    )


def _settings(tmp_path: Path) -> Settings:
    return load_settings(
        database_url=f"sqlite:///{tmp_path}/state.db",
        collector={"window_seconds": 3600},
        drift={"interval_seconds": 3600},
    )


def _ship(collector: TestClient, baseline: BaselineSpec, frame: pd.DataFrame, seed: int) -> None:
    summary = summarise(
        baseline,
        frame.to_dict("records"),
        start=time.time(),
        end=time.time() + 10,
        capacity=200,
        rng=np.random.default_rng(seed),
    )
    sent = collector.post(
        f"/collector/models/{baseline.model}/summaries",
        content=summary.to_wire(),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert sent.status_code == 200, sent.text


def _wait_for_rows(collector: TestClient, model: str, rows: int) -> None:
    deadline = time.monotonic() + 15
    seen = 0
    while time.monotonic() < deadline and seen < rows:
        window = collector.get(
            f"/collector/models/{model}/windows/latest",
            params={"include_open": True, "sample": False},
        )
        seen = window.json().get("rows", 0) if window.status_code == 200 else 0
        time.sleep(0.05)
    assert seen == rows


def test_a_drift_only_service_evaluates_summaries_a_collector_only_service_merged(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    drift_app = create_app(settings, ["drift"])
    collector_app = create_app(settings, ["collector"])
    with TestClient(drift_app) as drift, TestClient(collector_app) as collector:
        created = drift.post(
            "/drift/baselines/churn",
            content=_frame(1, 4000).to_csv(index=False),
            headers={"Content-Type": "text/csv"},
        )
        assert created.status_code == 201, created.text
        from inferwatch.drift.store import BaselineStore

        baseline = BaselineStore(drift_app.state.storage).require("churn")
        for pod in range(3):  # three pods' intervals, x shifted in all of them
            _ship(collector, baseline, _frame(10 + pod, 2000, shift=0.5), seed=pod)
        _wait_for_rows(collector, "churn", 6000)

        evaluation = drift.post("/drift/models/churn/evaluate")
        assert evaluation.status_code == 200, evaluation.text
        body = evaluation.json()
        assert body["path"] == "summary" and body["rows"] == 6000
        assert body["drifted_features"] == ["x"]
        by_method = {(f["feature"], f["method"]): f for f in body["features"]}
        assert by_method[("plan", "chi_squared")]["rows"] == 6000  # counts: all traffic
        assert by_method[("x", "ks")]["rows"] == 6000
        report = drift.get(body["report_url"].split("testserver", 1)[-1])
        assert report.status_code == 200 and "<html" in report.text.lower()


def test_rows_the_summaries_did_not_count_send_the_window_to_its_sample(tmp_path: Path) -> None:
    """A window that also took raw records before the baseline existed is judged on its sample."""
    settings = _settings(tmp_path)
    with (
        TestClient(create_app(settings, ["drift"])) as drift,
        TestClient(create_app(settings, ["collector"])) as collector,
    ):
        created = drift.post(
            "/drift/baselines/churn",
            content=_frame(1, 4000).to_csv(index=False),
            headers={"Content-Type": "text/csv"},
        )
        assert created.status_code == 201, created.text
        baseline = BaselineSpec.from_dict(drift.get("/drift/baselines/churn").json())
        _ship(collector, baseline, _frame(3, 1500), seed=1)
        _wait_for_rows(collector, "churn", 1500)
        assert drift.post("/drift/models/churn/evaluate").json()["path"] == "summary"
        drift.post(
            "/drift/baselines/churn",
            content=_frame(2, 4000).to_csv(index=False),
            headers={"Content-Type": "text/csv"},
        )  # version 2: the window's counts were binned against version 1
        body = drift.post("/drift/models/churn/evaluate").json()
        assert body["path"] == "sample" and body["baseline_version"] == 2
