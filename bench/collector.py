"""Records per second into the collector over HTTP on loopback, per format; peer: whylogs.

The collector runs in its own process (uvicorn, one worker); this process is the
load generator, sending pre-encoded bodies of ``BATCH`` records of 22 columns
from ``CLIENTS`` threads. Two rates are reported per format: wall-clock rows/s,
and rows per CPU-second of the collector process (its user+system time from
/proc), which is the per-core figure and is less disturbed by other load on a
shared machine. The peer is whylogs profiling the same frames in-process
(rows per CPU-second of this process).

Run: ``.venv/bin/python -m bench.collector`` (writes bench/results/collector.md).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pyarrow as pa

from bench._records import baseline, records, whylogs_profile

BATCH = 10_000
REQUESTS = 12
CLIENTS = 2
FORMATS = ("arrow_stream", "arrow_file", "json_columns", "json_rows", "kserve_v1")
RESULTS = Path(__file__).parent / "results" / "collector.md"


def _serve(data_dir: str, baseline_dir: str, port: int) -> None:
    import uvicorn

    from inferwatch.app import create_app
    from inferwatch.settings import load_settings

    settings = load_settings(
        data_dir=data_dir,
        collector={
            "baseline_dir": baseline_dir,
            "max_body_bytes": 64 * 1024 * 1024,
            "window_seconds": 86_400,
            "queue_capacity_rows": 1_000_000,
        },
    )
    uvicorn.run(
        create_app(settings, ["collector"]),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def _bodies() -> dict[str, tuple[bytes, dict[str, str], str]]:
    frame = records(BATCH, seed=2)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    stream = pa.BufferOutputStream()
    with pa.ipc.new_stream(stream, table.schema) as writer:
        writer.write_table(table)
    ipc_file = pa.BufferOutputStream()
    with pa.ipc.new_file(ipc_file, table.schema) as writer:
        writer.write_table(table)
    as_json = {"content-type": "application/json"}
    kserve = {
        **as_json,
        "ce-specversion": "1.0",
        "ce-type": "org.kubeflow.serving.inference.request",
        "ce-id": "1",
        "ce-source": "bench",
        "ce-inferenceservicename": "kserve_v1",
    }
    return {
        "arrow_stream": (
            stream.getvalue().to_pybytes(),
            {"content-type": "application/vnd.apache.arrow.stream"},
            "/collector/models/arrow_stream/records",
        ),
        "arrow_file": (
            ipc_file.getvalue().to_pybytes(),
            {"content-type": "application/vnd.apache.arrow.file"},
            "/collector/models/arrow_file/records",
        ),
        "json_columns": (
            json.dumps({"columns": frame.to_dict("list")}).encode(),
            as_json,
            "/collector/models/json_columns/records",
        ),
        "json_rows": (
            json.dumps(frame.to_dict("records")).encode(),
            as_json,
            "/collector/models/json_rows/records",
        ),
        "kserve_v1": (
            json.dumps({"instances": frame.to_numpy().tolist()}).encode(),
            kserve,
            "/collector/kserve",
        ),
    }


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("collector did not become ready")


def _measure(
    url: str, pid: int, body: bytes, headers: dict[str, str], path: str
) -> dict[str, float]:
    with httpx.Client(base_url=url, timeout=120) as client:
        response = client.post(path, content=body, headers=headers)  # warm-up
        response.raise_for_status()
        cpu0, t0 = _cpu_seconds(pid), time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(
                pool.map(
                    lambda _: client.post(path, content=body, headers=headers), range(REQUESTS)
                )
            )
        wall, cpu = time.perf_counter() - t0, _cpu_seconds(pid) - cpu0
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers[:1]]
    rows = REQUESTS * BATCH
    return {"rows_per_s": rows / wall, "rows_per_cpu_s": rows / cpu, "mb": len(body) / 1e6}


def _peer() -> float:
    import resource

    frame = records(BATCH, seed=2)
    whylogs_profile(frame)  # warm-up (imports, first-call set-up)
    start = resource.getrusage(resource.RUSAGE_SELF)
    runs = 4
    for _ in range(runs):
        whylogs_profile(frame)
    end = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (end.ru_utime - start.ru_utime) + (end.ru_stime - start.ru_stime)
    return runs * BATCH / cpu


def main() -> None:
    """Run the benchmark and write bench/results/collector.md."""
    from inferwatch.stack import free_port

    with tempfile.TemporaryDirectory() as tmp:
        base_dir = Path(tmp) / "baselines"
        base_dir.mkdir()
        reference = baseline().to_dict()
        for name in FORMATS:  # one model per format: each starts with an empty window
            (base_dir / f"{name}.json").write_text(json.dumps({**reference, "model": name}))
        port = free_port()
        context = multiprocessing.get_context("spawn")
        server = context.Process(
            target=_serve, args=(str(Path(tmp) / "data"), str(base_dir), port), daemon=True
        )
        server.start()
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url)
            assert server.pid is not None
            results = {
                name: _measure(url, server.pid, body, headers, path)
                for name, (body, headers, path) in _bodies().items()
            }
        finally:
            server.terminate()
            server.join(10)
    peer = _peer()
    lines = [
        "# Collector ingest throughput",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs; "
        f"Python {platform.python_version()}. Bodies of {BATCH} records x 22 columns "
        f"(18 float, 4 string), {REQUESTS} requests per format from {CLIENTS} client threads "
        "in a second process, over HTTP on loopback; each record validated against the "
        "baseline, windowed (reservoir of 5000 per window, one model per format so each "
        "starts from an empty window) and committed to SQLite before the 200.",
        "",
        "Peer: whylogs `why.log(pandas=frame)` profiling the same 10k-record frames "
        f"in-process: **{peer:,.0f} rows per CPU-second**.",
        "",
        "| format | body MB | rows/s (wall) | rows per collector CPU-second | vs whylogs |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['mb']:.2f} | {r['rows_per_s']:,.0f} | {r['rows_per_cpu_s']:,.0f} "
            f"| {r['rows_per_cpu_s'] / peer:.1f}x |"
        )
    lines += [
        "",
        "Aim: >= 100k rows/s of 22 columns per core on the columnar formats "
        "(arrow_stream, arrow_file, json_columns). JSON rows and KServe v1 instances pay "
        "for one Python object per value in `json.loads` and are reported for comparison.",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
