"""The ingest routes end to end through the app: formats, validation, limits, windows."""

from __future__ import annotations

import base64
import json

import pyarrow as pa
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from inferwatch.collector.formats import ARROW_FILE, ARROW_STREAM
from inferwatch.collector.windows import WindowStore
from inferwatch.contracts.handoffs import BASELINES, WINDOWS
from inferwatch.contracts.windows import LiveWindow, WindowSource
from inferwatch.drift.baseline import Baseline

from .conftest import arrow_file, arrow_stream

ROWS = [
    {"age": 31.5, "income": 20000, "plan": "basic", "vip": True},
    {"age": None, "income": 15000.0, "plan": "enterprise"},
    {"age": float("nan"), "plan": None, "vip": False},
]
KSERVE_HEADERS = {
    "ce-specversion": "1.0",
    "ce-type": "org.kubeflow.serving.inference.request",
    "ce-source": "http://localhost:9081/",
    "ce-id": "0009174a-24a8-4603-b098-09c8799950e9",
    "ce-inferenceservicename": "churn",
    "ce-namespace": "default",
}


def post(client: TestClient, body: object, model: str = "churn") -> tuple[int, dict[str, object]]:
    response = client.post(
        f"/collector/models/{model}/records",
        content=json.dumps(body),  # allows NaN, as Python JSON producers send it
        headers={"content-type": "application/json"},
    )
    return response.status_code, response.json()


def latest(client: TestClient) -> dict[str, object]:
    response = client.get("/collector/models/churn/windows/latest", params={"include_open": True})
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def test_json_rows_are_accepted_and_windowed(client: TestClient) -> None:
    status, body = post(client, ROWS)
    assert status == 200, body
    assert body["accepted"] == 3
    assert body["format"] == "json_rows"
    window = latest(client)
    assert window["rows"] == 3
    sample = window["sample"]
    assert isinstance(sample, dict)
    assert sample["columns"]["plan"] == ["basic", "enterprise", None]
    assert sample["columns"]["vip"] == ["true", None, "false"]
    assert sample["columns"]["age"][1:] == [None, None]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"records": ROWS[:2]}, id="records-key"),
        pytest.param(
            {"columns": {"age": [1, 2.5], "plan": ["pro", "basic"], "vip": [True, None]}},
            id="columnar",
        ),
        pytest.param({"instances": [[1, 2, "pro", False], [3, 4, "basic", True]]}, id="kserve-v1"),
        pytest.param(
            {
                "inputs": [
                    {
                        "name": "x",
                        "shape": [2, 4],
                        "datatype": "BYTES",
                        "data": [1, 2, "pro", False, 3, 4, "basic", True],
                    }
                ]
            },
            id="kserve-v2-matrix",
        ),
        pytest.param(
            {"inputs": [{"name": "age", "shape": [2], "datatype": "FP64", "data": [1, 2]}]},
            id="kserve-v2-named",
        ),
    ],
)
def test_json_shapes(client: TestClient, body: object) -> None:
    status, answer = post(client, body)
    assert status == 200, answer
    assert answer["accepted"] == 2


@pytest.mark.parametrize(
    ("media", "encode"), [(ARROW_STREAM, arrow_stream), (ARROW_FILE, arrow_file)]
)
def test_arrow_ipc(client: TestClient, media: str, encode: object) -> None:
    table = pa.table(
        {
            "age": pa.array([1, 2, None], pa.int32()),
            "plan": pa.array(["pro", "basic", "pro"]).dictionary_encode(),
            "vip": [True, False, None],
        }
    )
    assert callable(encode)
    response = client.post(
        "/collector/models/churn/records", content=encode(table), headers={"content-type": media}
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 3
    assert latest(client)["sample"]["columns"]["plan"] == ["pro", "basic", "pro"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        pytest.param([{"age": 1}, {"age": "old"}], "field 'age', row 1", id="wrong-type"),
        pytest.param([{"age": 1, "colour": "red"}], "field 'colour', row 0", id="unknown-field"),
        pytest.param([{"plan": {"nested": 1}}], "field 'plan', row 0", id="nested-category"),
        pytest.param({"columns": {"age": [1, 2], "plan": ["a"]}}, "field 'plan'", id="ragged"),
        pytest.param({"columns": {"age": [1, [2]]}}, "field 'age', row 1", id="list-in-column"),
        pytest.param([1, 2], "row 0", id="not-objects"),
        pytest.param({"instances": [[1, 2]]}, "row 0", id="short-instance"),
    ],
)
def test_bad_records_get_422_naming_field_and_row(
    client: TestClient, body: object, needle: str
) -> None:
    status, answer = post(client, body)
    assert status == 422
    assert needle in str(answer["detail"])
    assert latest_or_none(client) is None


def latest_or_none(client: TestClient) -> object:
    response = client.get("/collector/models/churn/windows/latest", params={"include_open": True})
    return response.json() if response.status_code == 200 else None


def test_arrow_column_of_wrong_type_is_422(client: TestClient) -> None:
    body = arrow_stream(pa.table({"age": ["young", "old"]}))
    response = client.post(
        "/collector/models/churn/records", content=body, headers={"content-type": ARROW_STREAM}
    )
    assert response.status_code == 422
    assert "field 'age'" in response.json()["detail"]


@pytest.mark.parametrize(
    ("content", "media", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"garbage", ARROW_STREAM, 400),
        (b"a,b\n1,2", "text/csv", 415),
        (b'{"something": 1}', "application/json", 400),
    ],
)
def test_unreadable_bodies_are_4xx(
    client: TestClient, content: bytes, media: str, status: int
) -> None:
    response = client.post(
        "/collector/models/churn/records", content=content, headers={"content-type": media}
    )
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_model_without_baseline_is_404(client: TestClient) -> None:
    status, answer = post(client, ROWS, model="unknown-model")
    assert status == 404
    assert "no baseline for model 'unknown-model'" in str(answer["detail"])
    metrics = client.get("/metrics").text
    assert (
        'inferwatch_collector_rejected_total{model="__unknown__",reason="no_baseline"} 1.0'
        in metrics
    )


def test_oversized_body_is_413(collector_app: object) -> None:
    assert callable(collector_app)
    with TestClient(collector_app(max_body_bytes=1024)) as client:
        status, answer = post(client, [ROWS[0]] * 100)
        assert status == 413
        assert "1024" in str(answer["detail"])
        chunked = client.post(
            "/collector/models/churn/records",
            content=iter([json.dumps([ROWS[0]] * 100).encode()]),
            headers={"content-type": "application/json"},
        )
        assert chunked.status_code == 413


def test_kserve_binary_mode(client: TestClient) -> None:
    response = client.post(
        "/collector/kserve",
        json={"instances": [[6.8, 2.8, "pro", True], [6.0, 3.4, "basic", False]]},
        headers=KSERVE_HEADERS,
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2
    assert latest(client)["rows"] == 2


def test_kserve_structured_mode_and_base64(client: TestClient) -> None:
    data = {"instances": [{"age": 30, "plan": "pro"}]}
    event = {
        "specversion": "1.0",
        "type": "org.kubeflow.serving.inference.request",
        "source": "http://localhost:9081/",
        "id": "1",
        "inferenceservicename": "churn",
        "datacontenttype": "application/json",
        "data": data,
    }
    headers = {"content-type": "application/cloudevents+json"}
    assert (
        client.post("/collector/kserve", content=json.dumps(event), headers=headers).json()[
            "accepted"
        ]
        == 1
    )
    del event["data"]
    event["data_base64"] = base64.b64encode(json.dumps(data).encode()).decode()
    assert (
        client.post("/collector/kserve", content=json.dumps(event), headers=headers).json()[
            "accepted"
        ]
        == 1
    )
    assert latest(client)["rows"] == 2


def test_kserve_response_events_are_acknowledged_not_windowed(client: TestClient) -> None:
    headers = {**KSERVE_HEADERS, "ce-type": "org.kubeflow.serving.inference.response"}
    response = client.post("/collector/kserve", json={"predictions": [1, 1]}, headers=headers)
    assert response.status_code == 200
    assert response.json()["accepted"] == 0
    assert "response" in response.json()["ignored"]


def test_kserve_without_model_or_type_is_400(client: TestClient) -> None:
    headers = {k: v for k, v in KSERVE_HEADERS.items() if k != "ce-inferenceservicename"}
    response = client.post("/collector/kserve", json={"instances": []}, headers=headers)
    assert response.status_code == 400
    assert "ce-inferenceservicename" in response.json()["detail"]
    response = client.post("/collector/kserve", json={"instances": []})
    assert response.status_code == 400


def test_metrics_count_records_and_rejections(client: TestClient) -> None:
    post(client, ROWS)
    post(client, [{"age": "x"}])
    text = client.get("/metrics").text
    assert 'inferwatch_collector_records_total{format="json_rows",model="churn"} 3.0' in text
    assert 'inferwatch_collector_rejected_total{model="churn",reason="invalid"} 1.0' in text
    assert "inferwatch_collector_queue_depth 0.0" in text


def test_window_source_is_published_for_the_drift_engine(client: TestClient) -> None:
    post(client, ROWS)
    app = client.app
    assert isinstance(app, FastAPI)
    source = app.state.context.handoffs.get(WINDOWS)
    assert isinstance(source, WindowStore)
    typed: WindowSource = source  # mypy checks the protocol
    assert typed.models() == ["churn"]
    assert source.latest_window("churn") is None  # the only window is still open
    window = source.latest_window("churn", include_open=True)
    assert isinstance(window, LiveWindow)
    assert window.rows == 3
    assert list(window.sample.columns) == ["age", "income", "plan", "vip"]


def test_baselines_from_the_drift_engine_win_over_files(
    collector_app: object, baseline: object
) -> None:
    from inferwatch.drift.baseline import infer_baseline

    from .conftest import reference_frame

    other = infer_baseline("fraud", reference_frame()[["age"]])

    class Engine:
        def get(self, model: str) -> Baseline | None:
            return other if model == "fraud" else None

    assert callable(collector_app)
    app = collector_app()
    app.state.context.handoffs.publish(BASELINES, Engine())
    with TestClient(app) as client:
        assert post(client, [{"age": 1}], model="fraud")[0] == 200
        assert post(client, [{"plan": "x"}], model="fraud")[0] == 422
        assert post(client, [{"plan": "pro"}], model="churn")[0] == 200


def test_write_routes_need_the_token_when_set(tmp_path: object, baseline_dir: object) -> None:
    from inferwatch.app import create_app
    from inferwatch.settings import load_settings

    settings = load_settings(
        data_dir=str(tmp_path) + "/d",
        server={"api_token": "s3cret"},
        collector={"baseline_dir": str(baseline_dir)},
    )
    with TestClient(create_app(settings, ["collector"])) as client:
        assert post(client, ROWS)[0] == 401
        ok = client.post(
            "/collector/models/churn/records",
            content=json.dumps(ROWS),
            headers={"Authorization": "Bearer s3cret", "content-type": "application/json"},
        )
        assert ok.status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        pytest.param(
            '{"columns": {"age": [1, null, 3], "plan": ["pro", null, "x"]}}', 200, "", id="fast"
        ),
        pytest.param('{"columns": {"age": [1, 2.5, NaN]}}', 200, "", id="nan-token"),
        pytest.param(
            '{"columns": {"age": [1, 2, 3], "plan": [null, null, null]}}', 200, "", id="all-null"
        ),
        pytest.param('{"columns": {"age": [null, null, null]}}', 200, "", id="only-null"),
        pytest.param('{\n  "columns": {"age": [1, 2, 3]}\n}', 200, "", id="pretty"),
        pytest.param('{"columns": {"age": ["a", "b", "c"]}}', 422, "field 'age'", id="strings"),
        pytest.param('{"columns": {"age": [1, "b", 3]}}', 422, "field 'age', row 1", id="mixed"),
        pytest.param(
            '{"columns": {"age": [1, 2], "vip": [true]}}', 422, "field 'vip'", id="ragged"
        ),
        pytest.param('{"columns": {"zzz": [1, 2, 3]}}', 422, "field 'zzz'", id="unknown"),
        pytest.param(
            '{"columns": {"age": [[1], [2], [3]]}}', 422, "field 'age', row 0", id="nested"
        ),
    ],
)
def test_columnar_json_fast_and_general_paths_agree(
    client: TestClient, body: str, status: int, needle: str
) -> None:
    response = client.post(
        "/collector/models/churn/records",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json() == {**response.json(), "accepted": 3, "format": "json_columns"}
    else:
        assert needle in response.json()["detail"]
