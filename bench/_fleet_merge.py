"""Fleet bench, item 3: window summaries merged per second by one collector process.

A real ``inferwatch collector serve`` process (SQLite file in WAL mode, or a throw-away
PostgreSQL server as replicas use it: a per-model lock, the window's row count read on
each merge) takes POSTs of gzip summaries (40 features, a pod's 10 s interval of 1,000
rows with its sampled rows) from concurrent senders in this process (one event loop).
A summary is acknowledged after its merge commits, so the 2xx answers per second are
merges per second. Client and server share the machine's 2 cores, so the figure per
collector CPU-second is given too: it is what one process with a core of its own would
merge.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from bench._fleet_data import columns
from inferwatch.drift.baseline import Baseline
from inferwatch.exporters.recorder import PredictionRecorder
from inferwatch.stack import free_port

CLIENTS = 4
SECONDS = 6.0
BODIES = 30
HEADERS = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


@dataclass
class Merged:
    """One engine and sample size."""

    summaries: int
    seconds: float
    cpu_seconds: float
    refused: int
    body_bytes: float

    @property
    def per_second(self) -> float:
        return self.summaries / self.seconds

    @property
    def per_cpu_second(self) -> float:
        return self.summaries / self.cpu_seconds


def bodies(base: Baseline, sample_rows: int) -> list[bytes]:
    """``BODIES`` wire summaries, each one pod's interval of 1,000 rows."""
    recorder = PredictionRecorder(base, registry=None, reservoir_size=sample_rows, seed=5)
    rng = np.random.default_rng(6)
    out = []
    for i in range(BODIES):
        recorder.record_batch(columns(1000, rng))
        out.append(recorder.take_summary(float(i), float(i + 10)).to_wire())
    recorder.close()
    return out


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(
    root: Path, base: Baseline, database_url: str | None
) -> tuple[subprocess.Popen[bytes], str]:
    (root / "baselines").mkdir(exist_ok=True)
    (root / "baselines" / f"{base.model}.json").write_text(json.dumps(base.to_dict()))
    port = free_port()
    env = {
        **os.environ,
        "INFERWATCH_DATA_DIR": str(root / f"data-{port}"),
        "INFERWATCH_SERVER__PORT": str(port),
        "INFERWATCH_COLLECTOR__BASELINE_DIR": str(root / "baselines"),
        "INFERWATCH_LOG_LEVEL": "WARNING",
        **({"INFERWATCH_DATABASE_URL": database_url} if database_url else {}),
    }
    command = [str(Path(sys.executable).parent / "inferwatch"), "collector", "serve"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"collector exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("collector did not start")


async def _load(url: str, payloads: list[bytes]) -> tuple[int, int, float]:
    """(acknowledged, refused, seconds) of ``CLIENTS`` senders for ``SECONDS``."""
    done = refused = 0
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        for body in payloads[:3]:  # warm: baseline read, window opened
            (
                await client.post(
                    "/collector/models/fleet/summaries", content=body, headers=HEADERS
                )
            ).raise_for_status()
        start = time.perf_counter()
        stop = start + SECONDS

        async def sender(offset: int) -> None:
            nonlocal done, refused
            i = offset
            while time.perf_counter() < stop:
                body = payloads[i % len(payloads)]
                i += CLIENTS
                answer = await client.post(
                    "/collector/models/fleet/summaries", content=body, headers=HEADERS
                )
                if answer.status_code == 429:
                    refused += 1
                    await asyncio.sleep(0.05)
                    continue
                if answer.status_code != 200:
                    raise RuntimeError(f"{answer.status_code}: {answer.text[:500]}")
                done += 1

        await asyncio.gather(*(sender(c) for c in range(CLIENTS)))
        return done, refused, time.perf_counter() - start


def merge_rate(base: Baseline, payloads: list[bytes], database_url: str | None) -> Merged:
    """Summaries merged per second by one collector process on this store."""
    with tempfile.TemporaryDirectory() as tmp:
        process, url = _start(Path(tmp), base, database_url)
        try:
            cpu = _cpu_seconds(process.pid)
            done, refused, seconds = asyncio.run(_load(url, payloads))
            cpu = _cpu_seconds(process.pid) - cpu
        finally:
            process.terminate()
            process.wait(20)
    return Merged(done, seconds, cpu, refused, float(np.mean([len(b) for b in payloads])))
