"""A real ``inferwatch collector serve`` process under crash-class and fuzzed input (issue #14).

A subprocess, because the failure these guard against killed the process (a 40 KB
columnar body nested 20,000 deep segfaulted libarrow): afterwards ``/healthz``
must still answer. The hypothesis fuzz mixes deep nesting, unicode (lone
surrogates included), huge and non-finite numbers and compressed Arrow, and
asserts no 5xx and bounded RSS growth per request.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from inferwatch.drift.baseline import infer_baseline
from inferwatch.stack import free_port

from .conftest import reference_frame

RECORDS = "/collector/models/churn/records"


class Server:
    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process, self.url = process, url

    def rss(self) -> int:
        text = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", text)
        assert match
        return int(match.group(1)) * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("server")
    (root / "b").mkdir()
    baseline = infer_baseline("churn", reference_frame(), bins=5, top_k=2)
    (root / "b" / "churn.json").write_text(json.dumps(baseline.to_dict()))
    port = free_port()
    env = {
        **os.environ,
        "INFERWATCH_DATA_DIR": str(root / "data"),
        "INFERWATCH_SERVER__PORT": str(port),
        "INFERWATCH_COLLECTOR__BASELINE_DIR": str(root / "b"),
        "INFERWATCH_COLLECTOR__MAX_DECODED_BYTES": str(32 * 1024 * 1024),
        "INFERWATCH_LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).parent / "inferwatch"), "collector", "serve"]
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"collector did not start: {(root / 'server.log').read_text()[-2000:]}")
    yield Server(process, url)
    process.terminate()
    process.wait(30)
    log.close()


def _alive(server: Server) -> None:
    assert server.process.poll() is None, "the collector process died"
    assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200


def test_a_body_nested_20000_deep_leaves_the_process_answering(server: Server) -> None:
    body = b'{"columns": {"age": ' + b"[" * 20_000 + b"]" * 20_000 + b"}}"
    assert len(body) < 41_000
    response = httpx.post(
        f"{server.url}{RECORDS}", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "nests deeper" in response.json()["detail"]
    _alive(server)


def test_arrow_bombs_leave_memory_alone(server: Server) -> None:
    sink = pa.BufferOutputStream()
    table = pa.table({"age": pa.array([0.0] * 5_000_000)})
    with pa.ipc.new_stream(
        sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")
    ) as writer:
        writer.write_table(table)
    body = sink.getvalue().to_pybytes()
    before = server.rss()
    response = httpx.post(
        f"{server.url}{RECORDS}",
        content=body,
        headers={"content-type": "application/vnd.apache.arrow.stream"},
    )
    assert response.status_code == 413
    assert server.rss() - before < 16 * 1024 * 1024  # 40 MB declared, nothing decoded
    _alive(server)


# -- the fuzz ------------------------------------------------------------------------------

_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(json.dumps),
    st.integers(min_value=-(10**500), max_value=10**500).map(str),
    st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "-0", "1e-400", "null"]),
)
_strings = st.text(
    alphabet=st.characters() | st.characters(categories=["Cs"]),  # lone surrogates too
    max_size=40,
).map(lambda s: json.dumps(s, ensure_ascii=True))  # a surrogate becomes a \\udXXX escape
_names = st.one_of(st.sampled_from(["age", "income", "plan", "vip"]), st.text(max_size=8))
_scalars = st.one_of(_numbers, _strings, st.sampled_from(["true", "false", "null"]))


@st.composite
def _json_bodies(draw: st.DrawFn) -> bytes:
    depth = draw(st.sampled_from([0, 1, 2, 63, 64, 65, 500, 5000]))
    shape = draw(st.sampled_from(["rows", "columns", "instances", "inputs", "nest"]))
    values = draw(st.lists(_scalars, min_size=0, max_size=6))
    name = json.dumps(draw(_names), ensure_ascii=True)
    inner = "[" + ",".join(values) + "]"
    if shape == "rows":
        text = "[" + ",".join("{" + f"{name}: {v}" + "}" for v in values) + "]"
    elif shape == "columns":
        text = '{"columns": {' + f"{name}: {inner}" + "}}"
    elif shape == "instances":
        text = '{"instances": [' + inner + "]}"
    elif shape == "inputs":
        text = (
            '{"inputs": [{"name": '
            + name
            + ', "shape": ['
            + str(len(values))
            + '], "data": '
            + inner
            + "}]}"
        )
    else:
        text = '{"columns": {' + name + ": " + "[" * depth + "]" * depth + "}}"
    return text.encode("utf-8", "surrogatepass")


@st.composite
def _arrow_bodies(draw: st.DrawFn) -> bytes:
    rows = draw(st.sampled_from([0, 1, 10, 1000, 3_000_000]))
    compression = draw(st.sampled_from([None, "zstd", "lz4"]))
    kind = draw(st.sampled_from(["float", "string", "dict", "null", "dup"]))
    name = draw(st.sampled_from(["age", "plan", "x"]))
    if kind == "float":
        table = pa.table({name: pa.array([float("inf")] + [1.0] * (rows - 1) if rows else [])})
    elif kind == "string":
        table = pa.table({name: pa.array(["pro"] * min(rows, 1000))})
    elif kind == "dict":
        table = pa.table({name: pa.array(["p" * 1000] * min(rows, 1000)).dictionary_encode()})
    elif kind == "null":
        table = pa.table({name: pa.nulls(rows)})
    else:
        table = pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0])], names=[name, name])
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    data = sink.getvalue().to_pybytes()
    cut = draw(st.sampled_from([None, 8, len(data) // 2]))
    return bytes(data if cut is None else data[:cut])


_cases = st.one_of(
    _json_bodies().map(lambda b: ("application/json", b)),
    _arrow_bodies().map(lambda b: ("application/vnd.apache.arrow.stream", b)),
)


@hypothesis_settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_cases)
def test_fuzzed_bodies_never_get_a_5xx_nor_grow_memory(server: Server, case: Any) -> None:
    content_type, body = case
    before = server.rss()
    response = httpx.post(
        f"{server.url}{RECORDS}", content=body, headers={"content-type": content_type}, timeout=60
    )
    assert response.status_code < 500, response.text
    assert server.rss() - before < 64 * 1024 * 1024
    assert server.process.poll() is None
