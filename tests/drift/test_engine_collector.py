"""The engine on the real in-process collector: records in, drift out (`inferwatch up` shape)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from inferwatch.app import create_app
from inferwatch.settings import load_settings


def _frame(seed: int, rows: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, rows),
            "plan": rng.choice(["free", "pro", "team"], rows, p=[0.6, 0.3, 0.1]),
        }
    )


def test_records_posted_to_the_collector_are_evaluated_by_the_engine(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=f"{tmp_path}/data",
        drift={"include_open_window": True, "interval_seconds": 3600},
    )
    with TestClient(create_app(settings, ["collector", "drift"])) as client:
        reference: str = _frame(1, 2000).to_csv(index=False)
        created = client.post(
            "/drift/baselines/churn", content=reference, headers={"Content-Type": "text/csv"}
        )
        assert created.status_code == 201, created.text

        live = _frame(2, 600, shift=1.0)
        columns = {"x": live["x"].tolist(), "plan": live["plan"].tolist()}
        sent = client.post("/collector/models/churn/records", json={"columns": columns})
        assert sent.status_code < 300, sent.text

        deadline = time.monotonic() + 15
        rows = 0
        while time.monotonic() < deadline:
            window = client.get(
                "/collector/models/churn/windows/latest",
                params={"include_open": True, "sample": False},
            )
            rows = window.json().get("rows", 0) if window.status_code == 200 else 0
            if rows >= 600:
                break
            time.sleep(0.05)
        assert rows == 600

        evaluation = client.post("/drift/models/churn/evaluate")
        assert evaluation.status_code == 200, evaluation.text
        body = evaluation.json()
        assert body["path"] == "summary" and body["rows"] == 600  # records counted too
        assert body["drift_detected"] is True and body["drifted_features"] == ["x"]
        metrics = client.get("/metrics").text
        assert 'inferwatch_drift_dataset_detected{model="churn"} 1.0' in metrics


def test_evaluate_now_takes_the_open_window_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Default settings (open windows not scheduled): "evaluate now" still means the rows sent."""
    settings = load_settings(data_dir=f"{tmp_path}/data", drift={"interval_seconds": 3600})
    assert settings.drift.include_open_window is False
    with TestClient(create_app(settings, ["collector", "drift"])) as client:
        created = client.post(
            "/drift/baselines/churn",
            content=_frame(1, 2000).to_csv(index=False),
            headers={"Content-Type": "text/csv"},
        )
        assert created.status_code == 201, created.text
        nothing = client.post("/drift/models/churn/evaluate")
        assert nothing.status_code == 404
        assert "/collector/models/churn/records" in nothing.json()["detail"]

        live = _frame(2, 300, shift=1.0)
        columns = {"x": live["x"].tolist(), "plan": live["plan"].tolist()}
        assert client.post("/collector/models/churn/records", json={"columns": columns}).is_success
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            window = client.get(
                "/collector/models/churn/windows/latest",
                params={"include_open": True, "sample": False},
            )
            if window.status_code == 200 and window.json()["rows"] >= 300:
                break
            time.sleep(0.05)

        with caplog.at_level(logging.INFO, logger="inferwatch.drift.engine"):
            evaluation = client.post("/drift/models/churn/evaluate")
        assert evaluation.status_code == 200, evaluation.text
        body = evaluation.json()
        assert body["rows"] == 300 and body["window_open"] is True
        assert body["drifted_features"] == ["x"]
        verdicts = [r for r in caplog.records if r.getMessage() == "drift verdict"]
        assert [(r.levelno, r.fields["model"], r.fields["features"]) for r in verdicts] == [  # type: ignore[attr-defined]
            (logging.INFO, "churn", ["x"])
        ]

        # the report shows the window the latest evaluation saw: the open one, here
        report = client.get("/drift/models/churn/report.json")
        assert report.status_code == 200, report.text
        assert report.json()["window_rows"] == 300
