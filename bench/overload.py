"""Overload: p99 latency of admitted requests, 429 share and max RSS at 2x and 10x capacity.

A real ``inferwatch collector serve`` process on loopback takes JSON-rows bodies
(22 columns, the costliest format to parse; 1,000 records = 0.5 MB and 8,000 = 4 MB)
from closed-loop clients (tasks of one event loop in this process). Capacity is the admission's
``server.limits.max_concurrent_bodies`` (4, its default); 2x and 10x run 8 and 40
clients. A refused client honours Retry-After (1 s) and tries again. Max RSS is the
server's VmHWM. The peer is the same server with admission off (limits raised out of
reach), as before issue #14.

Run: ``.venv/bin/python -m bench overload`` (writes bench/results/overload.md and its
section of bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench._drift_common import write_results
from bench._records import baseline, records
from inferwatch.stack import free_port

CAPACITY = 4
RETRY_AFTER_S = 1.0
SCENARIOS = ((1_000, 2, 12.0), (1_000, 10, 12.0), (8_000, 10, 10.0))
"""(records per body, load as a multiple of capacity, seconds of load)."""
_OFF = {
    "INFERWATCH_SERVER__LIMITS__MAX_CONCURRENT_BODIES": "100000",
    "INFERWATCH_SERVER__LIMITS__MAX_INFLIGHT_BYTES": str(1 << 40),
}


def _start(root: Path, admission: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "INFERWATCH_DATA_DIR": str(root / f"data-{port}"),
        "INFERWATCH_SERVER__PORT": str(port),
        "INFERWATCH_SERVER__LIMITS__MAX_CONCURRENT_BODIES": str(CAPACITY),
        "INFERWATCH_COLLECTOR__BASELINE_DIR": str(root),
        "INFERWATCH_COLLECTOR__WINDOW_SECONDS": "86400",
        "INFERWATCH_LOG_LEVEL": "WARNING",
        **({} if admission else _OFF),
    }
    command = [str(Path(sys.executable).parent / "inferwatch"), "collector", "serve"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("collector did not start")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss(pid: int) -> int:
    match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) * 1024 if match else 0


def _load(url: str, body: bytes, clients: int, seconds: float) -> dict[str, float]:
    """Closed-loop clients as tasks of one event loop (a light load generator)."""
    return asyncio.run(_drive(url, body, clients, seconds))


async def _drive(url: str, body: bytes, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    statuses: list[int] = []
    stop = time.monotonic() + seconds
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(http: httpx.AsyncClient) -> None:
        while time.monotonic() < stop:
            start = time.perf_counter()
            response = await http.post(
                "/collector/models/bench/records", content=body, headers=headers
            )
            statuses.append(response.status_code)
            if response.status_code == 200:
                latencies.append(time.perf_counter() - start)
            elif response.status_code == 429:
                await asyncio.sleep(float(response.headers.get("retry-after", RETRY_AFTER_S)))

    began = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    elapsed = time.monotonic() - began
    total = len(statuses)
    return {
        "requests": total,
        "admitted": statuses.count(200),
        "refused_429": statuses.count(429),
        "errors_5xx": sum(1 for s in statuses if s >= 500),
        "share_429": statuses.count(429) / total if total else 0.0,
        "p50_s": float(np.percentile(latencies, 50)) if latencies else float("nan"),
        "p99_s": float(np.percentile(latencies, 99)) if latencies else float("nan"),
        "admitted_mib_per_s": statuses.count(200) * len(body) / 2**20 / elapsed,
    }


Result = tuple[str, str, int, dict[str, float]]


def main() -> None:
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bench.json").write_text(json.dumps(baseline().to_dict()))
        for rows, factor, seconds in SCENARIOS:
            body = json.dumps(records(rows, seed=3).to_dict("records")).encode()
            size = f"{rows} rows, {len(body) / 2**20:.1f} MiB"
            for admission in (True, False):
                process, url = _start(root, admission)
                try:
                    server_cpu, client_cpu = _cpu_seconds(process.pid), time.process_time()
                    stats = _load(url, body, CAPACITY * factor, seconds)
                    stats["max_rss_mb"] = _peak_rss(process.pid) / 2**20
                    stats["server_cpu_s"] = _cpu_seconds(process.pid) - server_cpu
                    stats["client_cpu_s"] = time.process_time() - client_cpu
                finally:
                    process.terminate()
                    process.wait(30)
                name = "admission (default limits)" if admission else "peer: admission off"
                results.append((name, size, factor, stats))
                print(name, size, factor, {k: round(v, 3) for k, v in stats.items()})
    _write(results)


def _write(results: list[Result]) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "## Overload: admission before parsing (bench/overload.py)",
        "",
        f"`python -m bench overload` on {platform.machine()}, {os.cpu_count()} cores shared "
        f"with other work (load average {load} when written), Python "
        f"{platform.python_version()}; server and load generator on the same cores. "
        "JSON-rows bodies (22 columns), closed-loop clients; capacity = "
        f"max_concurrent_bodies = {CAPACITY} (the default), so 2x is {2 * CAPACITY} clients "
        f"and 10x is {10 * CAPACITY}. A refused client honours Retry-After (1 s).",
        "",
        "| server | body | load | requests | 429 share | 5xx | p50 admitted | "
        "p99 admitted | max RSS | admitted MiB/s | server CPU s | load generator CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, size, factor, s in results:
        lines.append(
            f"| {name} | {size} | {factor}x | {s['requests']:.0f} | "
            f"{s['share_429']:.0%} | {s['errors_5xx']:.0f} | {s['p50_s']:.2f} s | "
            f"{s['p99_s']:.2f} s | {s['max_rss_mb']:.0f} MB | {s['admitted_mib_per_s']:.1f} | "
            f"{s['server_cpu_s']:.1f} | {s['client_cpu_s']:.1f} |"
        )
    lines += ["", "Ratios against the peer (admission off) at the same load and body:", ""]
    for index in range(0, len(results), 2):
        (_, size, factor, on), (_, _, _, off) = results[index], results[index + 1]
        lines.append(
            f"- {size}, {factor}x: p99 admitted {on['p99_s'] / off['p99_s']:.2f}x the peer's, "
            f"max RSS {on['max_rss_mb'] / off['max_rss_mb']:.2f}x, "
            f"admitted throughput {on['admitted_mib_per_s'] / off['admitted_mib_per_s']:.2f}x."
        )
    lines += [
        "",
        "Admitted throughput under overload can fall below the peer's, which pays for its",
        "throughput with every request's latency and with memory that grows with the bodies",
        "parsed at once. On these two shared cores the server's CPU seconds tell why: other",
        "work on the machine takes most of the CPU, and the scheduler shares it per runnable",
        "thread, so the peer, with a thread per admitted body, gets more of it than a server",
        "that parses four at a time. A refused client also still uploads its whole body",
        "(none of these clients sends `Expect: 100-continue`).",
    ]
    write_results("overload", "\n".join(lines))


if __name__ == "__main__":
    main()
