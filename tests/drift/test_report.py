"""evidently reports of the latest window, served over HTTP and cached per window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from inferwatch.app import create_app
from inferwatch.contracts.windows import LiveWindow
from inferwatch.drift.baseline import infer_baseline
from inferwatch.drift.engine_errors import NoLiveDataError
from inferwatch.drift.report import finite, render
from inferwatch.settings import Settings

from .conftest import HeldWindows, handed

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# evidently 0.7.23 imports litestar APIs that litestar itself deprecates; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _frame(seed: int, rows: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, rows),
            "plan": rng.choice(["free", "pro", "team"], rows),
            "flag": rng.random(rows) > 0.5,
        }
    )


class OneWindow(HeldWindows):
    def __init__(self) -> None:
        self.window: LiveWindow | None = None

    def models(self) -> list[str]:
        return ["churn"] if self.window else []

    def held(self, model: str) -> list[LiveWindow]:
        return [self.window] if self.window and model == "churn" else []


def test_report_html_and_json_for_the_latest_window(settings: Settings) -> None:
    windows = OneWindow()
    settings.drift.report_max_rows = 150
    app = create_app(settings, ["drift"], handoffs=handed(windows))
    with TestClient(app) as client:
        created = client.post(
            "/drift/baselines/churn?sample_size=200",
            content=_frame(1, 400).to_csv(index=False).encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert created.status_code == 201
        missing = client.get("/drift/models/churn/report")
        assert missing.status_code == 404 and "no closed window" in missing.json()["detail"]

        windows.window = LiveWindow(
            model="churn",
            start=T0,
            end=T0 + timedelta(minutes=5),
            rows=1000,
            sample=_frame(2, 300, shift=2.0),
        )
        html = client.get("/drift/models/churn/report")
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
        assert "<html" in html.text.lower() and "drift" in html.text.lower()

        document = client.get("/drift/models/churn/report.json")
        assert document.status_code == 200
        body = document.json()
        assert (body["model"], body["baseline_version"]) == ("churn", 1)
        assert (body["reference_rows"], body["window_rows"]) == (150, 150)
        assert body["window_start"] == T0.isoformat()
        names = [m["metric_name"] for m in body["evidently"]["metrics"]]
        assert any("ValueDrift(column=x" in n for n in names)
        drifted_x = next(
            m
            for m in body["evidently"]["metrics"]
            if m["metric_name"].startswith("ValueDrift(column=x")
        )
        assert drifted_x["value"] < 0.05  # evidently agrees the shifted column drifted
        part = app.state.parts[0]
        assert part.reports.renders == 1  # HTML and JSON came from one cached render


def test_report_names_the_engines_drifted_features_and_says_which_decides(
    settings: Settings,
) -> None:
    """evidently's defaults may flag other columns than the engine (here a small shift in
    ``plan``); the report carries the engine's verdict beside them and names its features."""
    windows = OneWindow()
    app = create_app(settings, ["drift"], handoffs=handed(windows))
    rng = np.random.default_rng(7)
    live = _frame(2, 1000, shift=0.3)
    live["plan"] = rng.choice(["free", "pro", "team"], 1000, p=[0.36, 0.33, 0.31])
    with TestClient(app) as client:
        created = client.post(
            "/drift/baselines/churn",
            content=_frame(1, 5000).to_csv(index=False).encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert created.status_code == 201
        windows.window = LiveWindow(
            model="churn", start=T0, end=T0 + timedelta(minutes=5), rows=1000, sample=live
        )
        engine = client.post("/drift/models/churn/evaluate").json()
        body = client.get("/drift/models/churn/report.json").json()
        html = client.get("/drift/models/churn/report").text
    assert engine["drifted_features"] == ["x"]
    verdict = body["inferwatch"]
    assert verdict["decides"] is True
    assert verdict["drifted_features"] == engine["drifted_features"]
    assert {n for n, f in verdict["features"].items() if f["drifted"]} == {"x"}
    assert "inferwatch verdict (decides alerts): drift" in html
    assert "drifted features: x." in html


def test_render_without_a_stored_evaluation_runs_the_engines_rule() -> None:
    baseline = infer_baseline("m", _frame(1, 2000))
    window = LiveWindow(model="m", start=T0, end=T0, rows=500, sample=_frame(2, 500, shift=1.0))
    report = render(baseline, window, max_rows=200)
    assert report.document["inferwatch"]["drifted_features"] == ["x"]
    assert report.document["inferwatch"]["verdict"] == "drift"


def test_render_refuses_windows_it_cannot_compare() -> None:
    baseline = infer_baseline("m", _frame(1, 100), sample_size=0)
    window = LiveWindow(model="m", start=T0, end=T0, rows=10, sample=_frame(2, 10))
    with pytest.raises(NoLiveDataError, match="no reference sample"):
        render(baseline, window)
    baseline = infer_baseline("m", _frame(1, 100))
    other = LiveWindow(model="m", start=T0, end=T0, rows=3, sample=pd.DataFrame({"z": [1, 2, 3]}))
    with pytest.raises(NoLiveDataError, match="none of the baseline's features"):
        render(baseline, other)
    empty = LiveWindow(model="m", start=T0, end=T0, rows=0, sample=pd.DataFrame())
    with pytest.raises(NoLiveDataError, match="no sampled rows"):
        render(baseline, empty)


def test_finite_replaces_nan_for_json() -> None:
    assert finite({"a": [1.0, float("nan")], "b": (float("inf"), "x")}) == {
        "a": [1.0, None],
        "b": [None, "x"],
    }
