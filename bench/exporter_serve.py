"""`inferwatch exporter serve` on its framework-free server, against the FastAPI service.

Since the lean client install, ``exporter serve`` answers from the standard library's
threading HTTP server (``inferwatch.exporters.gpu.server``); before, it ran the services'
FastAPI app on uvicorn with only the gpu-exporter part, which is still how ``inferwatch
up`` serves it. The peer is exactly that earlier path (``inferwatch.cli_support.serve``
with ``["gpu-exporter"]``), started the same way, in the same run, on the same 8
simulated GPUs. Measured per server process: time from start to the first 200 on
``/readyz``, resident memory once ready, and for ``GET /metrics`` over loopback HTTP the
wall time seen by a client and the server process's own CPU per scrape (from
``/proc/PID/stat``). Scrapes alternate between the two in blocks, so machine noise falls
on both.

    .venv/bin/python -m bench exporter_serve            (or -m bench.exporter_serve --scrapes 200)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench._drift_common import markdown_table, write_results
from inferwatch.stack import free_port

GPUS = 8
LEAN = "from inferwatch.cli import main; main()"
FASTAPI = (
    "import sys; from inferwatch.cli_support import serve; "
    "from inferwatch.settings import load_settings; "
    "serve(load_settings(server={'port': int(sys.argv[1])}), ['gpu-exporter'])"
)
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """One running server process and what was measured on it."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    startup_s: float
    rss_mib: float
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    """Server CPU per scrape, one value per block (clock ticks are 10 ms: blocks average)."""

    def cpu_seconds(self) -> float:
        """User plus system CPU of the server process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def start(name: str, workdir: Path) -> Server:
    """Start one server on a free port and wait for its /readyz."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERWATCH_")}
    env.update(
        INFERWATCH_EXPORTERS__GPU__SIMULATE=str(GPUS),
        INFERWATCH_DATA_DIR=str(workdir / name),
        INFERWATCH_LOG_LEVEL="WARNING",
    )
    args = ["exporter", "serve", "--port", str(port)] if name == "lean" else [str(port)]
    code = LEAN if name == "lean" else FASTAPI
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = began + 60
    while time.perf_counter() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.01)
    else:
        process.kill()
        raise RuntimeError(f"{name} did not become ready")
    startup = time.perf_counter() - began
    rss_kib = next(
        int(line.split()[1])
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return Server(name, process, url, startup, rss_kib / 1024)


def scrape_block(server: Server, client: httpx.Client, count: int) -> None:
    """``count`` scrapes of /metrics; wall per scrape and the server's CPU per scrape."""
    cpu_before = server.cpu_seconds()
    for _ in range(count):
        began = time.perf_counter()
        answer = client.get(f"{server.url}/metrics")
        server.wall_ms.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200 and "inferwatch_gpu_up{" in answer.text
    server.cpu_ms.append((server.cpu_seconds() - cpu_before) * 1000 / count)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def main() -> None:
    """Run both servers, alternate scrapes, write bench/results/exporter_serve.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scrapes", type=int, default=200, help="scrapes per server")
    parser.add_argument("--starts", type=int, default=3, help="start-ups per server")
    options = parser.parse_args(sys.argv[2:] if sys.argv[1:2] == ["exporter_serve"] else None)
    names = ("lean", "fastapi")
    startups: dict[str, list[float]] = {name: [] for name in names}
    rss: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="inferwatch-bench-") as tmp:
        workdir = Path(tmp)
        for _ in range(options.starts - 1):  # alternate; the last start stays up for scrapes
            for name in names:
                server = start(name, workdir)
                startups[name].append(server.startup_s)
                rss[name].append(server.rss_mib)
                server.stop()
        servers = [start(name, workdir) for name in names]
        for server in servers:
            startups[server.name].append(server.startup_s)
            rss[server.name].append(server.rss_mib)
        try:
            with httpx.Client(timeout=30) as client:
                for server in servers:  # warm-up, not counted
                    client.get(f"{server.url}/metrics")
                block = 20
                for _ in range(max(1, options.scrapes // block)):
                    for server in servers:
                        scrape_block(server, client, block)
        finally:
            for server in servers:
                server.stop()
    lean, fastapi = servers
    rows = [
        _row("start to /readyz 200, median of starts (s)", startups["lean"], startups["fastapi"]),
        _row("resident memory once ready, median (MiB)", rss["lean"], rss["fastapi"], 1),
        _row("GET /metrics wall, median (ms)", lean.wall_ms, fastapi.wall_ms, 2),
        [
            "GET /metrics wall, p95 (ms)",
            f"{p95(lean.wall_ms):.2f}",
            f"{p95(fastapi.wall_ms):.2f}",
            f"{p95(lean.wall_ms) / p95(fastapi.wall_ms):.2f}x",
        ],
        _row("server CPU per scrape, mean (ms)", lean.cpu_ms, fastapi.cpu_ms, 2, statistics.mean),
    ]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    text = f"""# Benchmark: `inferwatch exporter serve`, framework-free against FastAPI

`.venv/bin/python -m bench.exporter_serve --scrapes {options.scrapes} --starts {options.starts}`
(run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC;
CPython {platform.python_version()}, {os.cpu_count()} CPU cores shared with other work,
load average {load} when written; {GPUS} simulated GPUs on the fake NVML driver, defaults).

inferwatch: `exporter serve` as it runs now (standard library threading HTTP server,
prometheus_client's WSGI exposition; what the lean install runs). Peer: the same part on
the services' FastAPI app under uvicorn (`inferwatch.cli_support.serve(settings,
["gpu-exporter"])`, what `exporter serve` ran before and `inferwatch up` runs), same
settings, same run. {options.starts} start-ups each, alternating; {len(lean.wall_ms)}
scrapes each over loopback HTTP in alternating blocks of 20 (one `httpx.Client`: uvicorn
keeps the connection, the standard library server answers HTTP/1.0 and closes it, so its
wall time includes a new connection per scrape, as a Prometheus scrape of it does).

{markdown_table(["what", "exporter serve (lean)", "FastAPI + uvicorn", "ratio"], rows)}
"""
    path = write_results("exporter_serve", text)
    sys.stdout.write(text + f"\nwritten to {path}\n")


def _row(
    what: str,
    ours: list[float],
    peer: list[float],
    decimals: int = 2,
    average: Callable[[list[float]], float] = statistics.median,
) -> list[str]:
    a, b = average(ours), average(peer)
    return [what, f"{a:.{decimals}f}", f"{b:.{decimals}f}", f"{a / b:.2f}x"]


if __name__ == "__main__":
    main()
