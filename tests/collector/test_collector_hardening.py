"""Regression corpus of issue #14 (items 1-2): every malformed input gets a 4xx naming it.

In process, through the whole app (admission middleware, routes, parsers,
validation, the writer). Each case once crashed a request (500), the process
(segfault), or was silently stored.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from .conftest import arrow_stream

RECORDS = "/collector/models/churn/records"
KSERVE_REQUEST = "org.kubeflow.serving.inference.request"
JSON_CT = {"content-type": "application/json"}
STREAM_CT = {"content-type": "application/vnd.apache.arrow.stream"}


def _ipc(table: pa.Table, *, compression: str | None = None, file: bool = False) -> bytes:
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    opener = pa.ipc.new_file if file else pa.ipc.new_stream
    with opener(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _bad_utf8_column() -> pa.Array:
    offsets = pa.py_buffer(b"\x00\x00\x00\x00\x03\x00\x00\x00\x05\x00\x00\x00")
    return pa.Array.from_buffers(pa.string(), 2, [None, offsets, pa.py_buffer(b"pro\xff\xfe")])


def _deep(depth: int) -> bytes:
    return b'{"columns": {"age": ' + b"[" * depth + b"]" * depth + b"}}"


# (id, content type, body, status, words the detail must contain)
CASES: list[Any] = [
    pytest.param(JSON_CT, _deep(20_000), 400, "nests deeper", id="columns-nested-20000"),
    pytest.param(JSON_CT, b"[" * 5000 + b"]" * 5000, 400, "nests deeper", id="rows-nested-5000"),
    pytest.param(
        JSON_CT, b'[{"plan": "\\ud800"}]', 422, "lone surrogate", id="rows-lone-surrogate"
    ),
    pytest.param(
        JSON_CT,
        b'{"columns": {"plan": ["pro", "\\udfff"]}}',
        422,
        "row 1",
        id="columns-lone-surrogate",
    ),
    pytest.param(JSON_CT, b'[{"age": Infinity}]', 422, "finite", id="rows-infinity"),
    pytest.param(JSON_CT, b'[{"age": -Infinity}]', 422, "finite", id="rows-minus-infinity"),
    pytest.param(JSON_CT, b'{"columns": {"age": [1, 1e400]}}', 422, "row 1", id="columns-1e400"),
    pytest.param(JSON_CT, b'[{"plan": 1e400}]', 422, "finite", id="category-1e400"),
    pytest.param(JSON_CT, b'[{"age": 1' + b"0" * 400 + b"}]", 422, "finite", id="rows-huge-int"),
    pytest.param(
        JSON_CT,
        json.dumps([{"plan": "x" * 5_000_000}]).encode(),
        422,
        "max_string_bytes",
        id="five-megabyte-category",
    ),
    pytest.param(
        JSON_CT,
        json.dumps([{"n" * 100_000: 1}]).encode(),
        422,
        "max_field_name_bytes",
        id="long-field-name",
    ),
    pytest.param(JSON_CT, b'[{"age": 1}]\xff', 400, "not valid JSON", id="json-invalid-utf8"),
    pytest.param(
        STREAM_CT,
        arrow_stream(pa.table({"plan": _bad_utf8_column()})),
        422,
        "field 'plan', row 1: is not valid UTF-8",
        id="arrow-invalid-utf8",
    ),
    pytest.param(
        STREAM_CT,
        arrow_stream(pa.table({"plan": _bad_utf8_column().dictionary_encode()})),
        422,
        "UTF-8",
        id="arrow-dictionary-invalid-utf8",
    ),
    pytest.param(
        STREAM_CT,
        arrow_stream(
            pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0])], names=["age", "age"])
        ),
        422,
        "more than once",
        id="arrow-duplicate-names",
    ),
    pytest.param(
        STREAM_CT,
        arrow_stream(pa.table({"age": [1.0, float("inf")]})),
        422,
        "row 1",
        id="arrow-infinity",
    ),
    pytest.param(
        STREAM_CT,
        lambda: _ipc(pa.table({"age": pa.nulls(20_000_000)}), compression="zstd"),
        413,
        "max_rows_per_request",
        id="arrow-20M-rows-in-bytes",
    ),
    pytest.param(
        {"content-type": "application/vnd.apache.arrow.file"},
        lambda: _ipc(pa.table({"age": pa.nulls(20_000_000)}), compression="lz4", file=True),
        413,
        "max_rows_per_request",
        id="arrow-file-20M-rows-in-bytes",
    ),
    pytest.param(
        STREAM_CT,
        lambda: _ipc(pa.table({"age": np.zeros(1_500_000)}), compression="zstd"),
        413,
        "max_decoded_bytes",
        id="arrow-zstd-bomb",
    ),
    pytest.param(
        STREAM_CT,
        lambda: _ipc(
            pa.table(
                {
                    "plan": pa.DictionaryArray.from_arrays(
                        pa.array(np.zeros(100_000, dtype=np.int32)), pa.array(["p" * 4000])
                    )
                }
            )
        ),
        413,
        "max_decoded_bytes",
        id="arrow-dictionary-expansion",
    ),
    pytest.param(STREAM_CT, b"\xff\xff\xff\xff\x10\x00", 400, "Arrow", id="arrow-truncated"),
]


@pytest.fixture
def hardened(collector_app: Callable[..., FastAPI]) -> TestClient:
    app = collector_app(
        max_rows_per_request=2_000_000, max_decoded_bytes=8 * 1024 * 1024, reservoir_size=50
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(("headers", "body", "status", "words"), CASES)
def test_malformed_records_get_a_4xx_naming_the_problem(
    hardened: TestClient,
    headers: dict[str, str],
    body: bytes | Callable[[], bytes],
    status: int,
    words: str,
) -> None:
    content = body() if callable(body) else body
    with hardened as client:
        response = client.post(RECORDS, content=content, headers=headers)
        assert response.status_code == status, response.text
        assert words in response.json()["detail"]
        assert client.get("/healthz").status_code == 200
        ok = client.post(RECORDS, json=[{"age": 1.0, "plan": "pro"}])
        assert ok.status_code == 200  # the service still takes honest records


def _event(data: Any) -> dict[str, str]:
    return {"ce-type": KSERVE_REQUEST, "ce-inferenceservicename": "churn", **JSON_CT}


@pytest.mark.parametrize(
    ("kind", "status", "words"),
    [
        pytest.param("binary-deep", 400, "nests deeper", id="binary-deep"),
        pytest.param("structured-deep", 400, "nests deeper", id="structured-deep"),
        pytest.param("base64-deep", 400, "nests deeper", id="base64-deep"),
        pytest.param("base64-surrogate", 422, "lone surrogate", id="base64-surrogate"),
        pytest.param("v2-infinity", 422, "finite", id="kserve-v2-infinity"),
        pytest.param("v1-surrogate", 422, "lone surrogate", id="kserve-v1-surrogate"),
        pytest.param("long-model", 400, "does not match", id="structured-long-model"),
    ],
)
def test_malformed_cloudevents_get_a_4xx(
    hardened: TestClient, kind: str, status: int, words: str
) -> None:
    deep = b"[" * 3000 + b"]" * 3000
    structured = {"content-type": "application/cloudevents+json"}
    envelope: dict[str, Any] = {"type": KSERVE_REQUEST, "inferenceservicename": "churn"}
    with hardened as client:
        if kind == "binary-deep":
            response = client.post(
                "/collector/kserve", content=b'{"instances": ' + deep + b"}", headers=_event(None)
            )
        elif kind == "structured-deep":
            body = b'{"type": "%s", "data": {"instances": %s}}' % (KSERVE_REQUEST.encode(), deep)
            response = client.post("/collector/kserve", content=body, headers=structured)
        elif kind in ("base64-deep", "base64-surrogate"):
            data = deep if kind == "base64-deep" else b'{"instances": [{"plan": "\\ud800"}]}'
            envelope["data_base64"] = base64.b64encode(data).decode()
            response = client.post(
                "/collector/kserve", content=json.dumps(envelope), headers=structured
            )
        elif kind == "v2-infinity":
            body = (
                b'{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", '
                b'"data": [Infinity]}]}'
            )
            response = client.post("/collector/kserve", content=body, headers=_event(None))
        elif kind == "v1-surrogate":
            body = b'{"instances": [{"plan": "\\udc00"}]}'
            response = client.post("/collector/kserve", content=body, headers=_event(None))
        else:
            envelope.update(inferenceservicename="m" * 100_000, data={"instances": []})
            response = client.post(
                "/collector/kserve", content=json.dumps(envelope), headers=structured
            )
        assert response.status_code == status, response.text
        assert words in response.json()["detail"]


def test_a_bad_arrow_batch_never_fails_valid_neighbours(
    collector_app: Callable[..., FastAPI],
) -> None:
    """300 concurrent valid batches and bad ones: every valid one 200, every bad one 422."""
    good = arrow_stream(pa.table({"age": [1.0, 2.0], "plan": ["pro", "basic"]}))
    bad = arrow_stream(pa.table({"plan": _bad_utf8_column()}))
    app = collector_app(reservoir_size=5)
    app.state.settings.server.limits.max_concurrent_bodies = 64
    with TestClient(app, raise_server_exceptions=False) as client:

        def send(i: int) -> int:
            body = bad if i % 10 == 0 else good
            return int(client.post(RECORDS, content=body, headers=STREAM_CT).status_code)

        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(send, range(330)))
        assert [s for i, s in enumerate(statuses) if i % 10] == [200] * 297
        assert [s for i, s in enumerate(statuses) if i % 10 == 0] == [422] * 33
        windows = client.get("/collector/models/churn/windows").json()["windows"]
        assert sum(w["rows"] for w in windows) == 297 * 2


def test_the_sample_api_shows_what_was_counted(client: TestClient) -> None:
    """No non-finite value is stored, so the sample and the counts agree (NaN is missing)."""
    body = b'{"columns": {"age": [1.5, NaN, null], "plan": ["pro", "basic", null]}}'
    assert client.post(RECORDS, content=body, headers=JSON_CT).status_code == 200
    latest = client.get("/collector/models/churn/windows/latest?include_open=true").json()
    assert latest["rows"] == 3
    assert sorted(latest["sample"]["columns"]["age"], key=str) == [1.5, None, None]


def test_writer_group_failure_is_retried_batch_by_batch(
    collector_app: Callable[..., FastAPI],
) -> None:
    """Belt and braces: a batch that does fail in the writer fails alone."""
    from inferwatch.collector.queue import IngestQueue
    from inferwatch.collector.windows import Batch

    written: list[str] = []

    def apply(batches: Any) -> None:
        if any(b.model == "poison" for b in batches):
            raise RuntimeError("poison")
        written.extend(b.model for b in batches)

    queue = IngestQueue(apply, capacity_rows=100)
    table = pa.table({"age": [1.0]})
    futures = []
    with queue._cond:  # hold the writer so the three land in one group
        queue.start()
        futures = [queue.submit(Batch(m, table, 0.0)) for m in ("a", "poison", "b")]
    errors = [f.exception(timeout=10) for f in futures]
    queue.stop()
    assert [e is None for e in errors] == [True, False, True]
    assert sorted(written) == ["a", "b"]


def test_the_configured_json_depth_is_the_one_applied(
    collector_app: Callable[..., FastAPI],
) -> None:
    body = b'{"columns": {"age": ' + b"[" * 80 + b"]" * 80 + b"}}"
    default = TestClient(collector_app())
    deeper = collector_app()
    deeper.state.settings.server.limits.max_json_depth = 100
    with default as client:
        assert client.post(RECORDS, content=body, headers=JSON_CT).status_code == 400
    with TestClient(deeper) as client:
        answer = client.post(RECORDS, content=body, headers=JSON_CT)
        assert answer.status_code == 422  # parsed, then refused by validation, not by depth
        assert "expected a number" in answer.json()["detail"]
