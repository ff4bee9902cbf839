"""The /drift HTTP API through the real app factory: baselines, results, evaluations, errors."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from inferwatch.app import create_app
from inferwatch.contracts.handoffs import BASELINES
from inferwatch.contracts.windows import LiveWindow
from inferwatch.drift.baseline import Baseline
from inferwatch.handoffs import Handoffs
from inferwatch.settings import Settings, load_settings

from .conftest import HeldWindows, handed

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _frame(seed: int, rows: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, rows),
            "plan": rng.choice(["free", "pro", "team"], rows, p=[0.6, 0.3, 0.1]),
        }
    )


class FakeWindows(HeldWindows):
    def __init__(self) -> None:
        self.windows: dict[str, LiveWindow] = {}

    def models(self) -> list[str]:
        return sorted(self.windows)

    def held(self, model: str) -> list[LiveWindow]:
        return [self.windows[model]] if model in self.windows else []

    def put(self, model: str, frame: pd.DataFrame) -> None:
        self.windows[model] = LiveWindow(
            model=model, start=T0, end=T0 + timedelta(minutes=5), rows=len(frame), sample=frame
        )


@pytest.fixture
def windows() -> FakeWindows:
    return FakeWindows()


@pytest.fixture
def client(settings: Settings, windows: FakeWindows) -> Iterator[TestClient]:
    app = create_app(settings, ["drift"], handoffs=handed(windows))
    with TestClient(app) as test_client:
        yield test_client


def _csv(frame: pd.DataFrame) -> bytes:
    text: str = frame.to_csv(index=False)
    return text.encode()


def test_create_baselines_from_csv_json_and_parquet(client: TestClient) -> None:
    frame = _frame(1, 300)
    made = client.post(
        "/drift/baselines/churn?bins=4&sample_size=100",
        content=_csv(frame),
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["model"], body["version"], body["sample_rows"]) == ("churn", 1, 100)
    x = next(f for f in body["features"] if f["name"] == "x")
    assert x["kind"] == "numeric" and len(x["edges"]) == 3 and x["bin_labels"][-1] == "+Inf"

    rows = json.loads(frame.head(50).to_json(orient="records"))
    assert client.post("/drift/baselines/churn", json=rows).json()["version"] == 2
    assert client.post("/drift/baselines/churn", json={"rows": rows}).json()["version"] == 3
    parquet = io.BytesIO()
    frame.to_parquet(parquet, index=False)
    sent = client.post(
        "/drift/baselines/churn",
        content=parquet.getvalue(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert sent.status_code == 201 and sent.json()["version"] == 4

    listed = client.get("/drift/baselines").json()["baselines"]
    assert [(b["model"], b["version"]) for b in listed] == [("churn", 4)]
    versions = client.get("/drift/baselines/churn/versions").json()["versions"]
    assert [v["version"] for v in versions] == [1, 2, 3, 4]
    first = client.get("/drift/baselines/churn/versions/1").json()
    assert first["features"] == body["features"]  # version 1 never changed
    latest = Baseline.from_dict(client.get("/drift/baselines/churn").json())
    assert latest.version == 4  # the document the recorder and the collector load
    assert isinstance(client.app, FastAPI)
    handoffs: Handoffs = client.app.state.context.handoffs
    published = handoffs.get(BASELINES)  # what the collector validates against
    assert published is not None
    found = published.get("churn")
    assert found is not None and found.features == latest.features
    assert published.get("nobody") is None


@pytest.mark.parametrize(
    ("content", "content_type", "status", "message"),
    [
        pytest.param(b"", "text/csv", 422, "empty", id="empty-body"),
        pytest.param(b"x,y\n", "text/csv", 422, "no rows", id="header-only-csv"),
        pytest.param(b"<x/>", "application/xml", 415, "not supported", id="wrong-type"),
        pytest.param(b"x,y\n1,2\n", None, 415, "not supported", id="no-type"),
        pytest.param(b"{not json", "application/json", 422, "not valid JSON", id="bad-json"),
        pytest.param(b"[1, 2]", "application/json", 422, "row 0", id="rows-not-objects"),
        pytest.param(b"[]", "application/json", 422, "no rows", id="no-json-rows"),
        pytest.param(b"PAR1garbage", "application/vnd.apache.parquet", 422, "Parquet", id="bad-pq"),
        pytest.param(b"\x00\x01", "application/octet-stream", 415, "not supported", id="binary"),
    ],
)
def test_bad_uploads_are_4xx_that_say_why(
    client: TestClient, content: bytes, content_type: str | None, status: int, message: str
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answer = client.post("/drift/baselines/m", content=content, headers=headers)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["detail"]
    assert client.get("/drift/baselines").json()["baselines"] == []


def test_bad_names_and_options_are_422(client: TestClient) -> None:
    answer = client.post(
        "/drift/baselines/bad%20name", content=b"x\n1\n", headers={"Content-Type": "text/csv"}
    )
    assert answer.status_code == 422 and "model name" in answer.json()["detail"]
    answer = client.post(
        "/drift/baselines/m?bins=1", content=b"x\n1\n", headers={"Content-Type": "text/csv"}
    )
    assert answer.status_code == 422


def test_unknown_models_are_404_with_a_hint(client: TestClient) -> None:
    for path in (
        "/drift/baselines/ghost",
        "/drift/baselines/ghost/versions",
        "/drift/models/ghost/results",
        "/drift/models/ghost/results/latest",
        "/drift/models/ghost/report",
        "/drift/models/ghost/report.json",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "ghost" in answer.json()["detail"] and "baseline" in answer.json()["detail"]
    answer = client.post("/drift/models/ghost/evaluate")
    assert answer.status_code == 404


def test_evaluate_now_then_latest_history_and_metrics(
    client: TestClient, windows: FakeWindows
) -> None:
    client.post(
        "/drift/baselines/churn",
        content=_csv(_frame(1, 1500)),
        headers={"Content-Type": "text/csv"},
    )
    no_window = client.post("/drift/models/churn/evaluate")
    assert no_window.status_code == 404 and "no live rows" in no_window.json()["detail"]
    assert client.get("/drift/models/churn/results/latest").status_code == 404
    assert client.get("/drift/models/churn/results").json()["results"] == []

    windows.put("churn", _frame(2, 800, shift=1.5))
    answer = client.post("/drift/models/churn/evaluate")
    assert answer.status_code == 200, answer.text
    evaluation = answer.json()
    assert evaluation["drift_detected"] is True and "x" in evaluation["drifted_features"]
    assert evaluation["window_start"] == T0.isoformat()
    assert evaluation["window_open"] is False  # FakeWindows' window closed long ago
    assert evaluation["report_url"] == "http://127.0.0.1:8686/drift/models/churn/report"

    latest = client.get("/drift/models/churn/results/latest").json()
    assert latest["evaluated_at"] == evaluation["evaluated_at"]
    history = client.get("/drift/models/churn/results?limit=5").json()["results"]
    assert history and history[0]["evaluated_at"] == evaluation["evaluated_at"]
    models = client.get("/drift/models").json()["models"]
    assert models[0]["model"] == "churn" and models[0]["drift_detected"] is True
    assert client.get("/drift/status").json()["path"] == "windows"

    metrics = client.get("/metrics").text
    assert 'inferwatch_drift_dataset_detected{model="churn"} 1.0' in metrics
    assert 'inferwatch_drift_detected{feature="x"' in metrics
    assert 'inferwatch_drift_evaluations_total{model="churn",outcome="drift"}' in metrics


def test_writes_need_the_token_when_one_is_set(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "d",
        server={"api_token": "s3cret"},
        drift={"public_url": "https://drift.example/"},
    )
    with TestClient(create_app(settings, ["drift"])) as client:
        body, headers = _csv(_frame(1, 200)), {"Content-Type": "text/csv"}
        assert client.post("/drift/baselines/m", content=body, headers=headers).status_code == 401
        assert client.post("/drift/models/m/evaluate").status_code == 401
        headers["Authorization"] = "Bearer s3cret"
        assert client.post("/drift/baselines/m", content=body, headers=headers).status_code == 201
        assert client.get("/drift/baselines/m").status_code == 401  # reads need it too
        assert client.get("/drift/baselines/m", headers=headers).status_code == 200
        url = client.get("/drift/models", headers=headers).json()["models"][0]["report_url"]
        assert url == "https://drift.example/drift/models/m/report"
        no_collector = client.post(
            "/drift/models/m/evaluate", headers={"Authorization": "Bearer s3cret"}
        )
        assert no_collector.status_code == 404 and "collector" in no_collector.json()["detail"]


def test_histogram_path_with_prometheus_down_is_502_and_counted(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "d",
        drift={"prometheus_url": "http://127.0.0.1:9/", "prometheus_timeout_seconds": 0.5},
    )
    with TestClient(create_app(settings, ["drift"])) as client:
        assert client.get("/drift/status").json()["path"] == "histogram"
        client.post(
            "/drift/baselines/m", content=_csv(_frame(1, 200)), headers={"Content-Type": "text/csv"}
        )
        answer = client.post("/drift/models/m/evaluate")
        assert answer.status_code == 502
        assert "unreachable" in answer.json()["detail"]
        metrics = client.get("/metrics").text
        assert 'inferwatch_drift_evaluations_total{model="m",outcome="error"} 1.0' in metrics
        assert client.get("/readyz").status_code == 200  # a failed evaluation is not unready


def test_uploads_over_the_limit_are_413(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d", drift={"max_upload_bytes": 2048})
    with TestClient(create_app(settings, ["drift"])) as client:
        big = _csv(_frame(1, 200))
        assert len(big) > 2048
        answer = client.post(
            "/drift/baselines/m", content=big, headers={"Content-Type": "text/csv"}
        )
        assert answer.status_code == 413 and "max_upload_bytes" in answer.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            yield big[:1500]
            yield big[1500:]

        streamed = client.post(
            "/drift/baselines/m", content=chunks(), headers={"Content-Type": "text/csv"}
        )
        assert streamed.status_code == 413
        small = _csv(_frame(1, 20))
        fits = client.post(
            "/drift/baselines/m", content=small, headers={"Content-Type": "text/csv"}
        )
        assert fits.status_code == 201


def test_drift_settings_validate_urls_and_read_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inferwatch.errors import ConfigError

    with pytest.raises(ConfigError, match="prometheus_url"):
        load_settings(data_dir=tmp_path, drift={"prometheus_url": "prom:9090"})
    monkeypatch.setenv("INFERWATCH_DRIFT__PROMETHEUS_URL", "http://thanos:10902/")
    monkeypatch.setenv("INFERWATCH_DRIFT__WINDOW_SECONDS", "900")
    loaded = load_settings(data_dir=tmp_path).drift
    assert (loaded.prometheus_url, loaded.window_seconds) == ("http://thanos:10902", 900)
    assert load_settings(data_dir=tmp_path, drift={"public_url": ""}).drift.public_url is None


def test_openapi_documents_the_drift_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    create = paths["/drift/baselines/{model}"]["post"]
    assert set(create["requestBody"]["content"]) >= {"text/csv", "application/json"}
    assert {"201", "413", "415", "422"} <= set(create["responses"])
    assert "/drift/models/{model}/report.json" in paths
    assert "/drift/models/{model}/evaluate" in paths
