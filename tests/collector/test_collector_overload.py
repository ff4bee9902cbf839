"""Overload on loopback: a stalled writer fills the bounded queue, callers get 429 with
Retry-After, memory stays bounded, and every accepted record is written once the writer
resumes.

The stall is a state store whose transactions wait on a gate (a disk that stopped
answering); everything else is the real service over real HTTP.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from inferwatch.app import create_app
from inferwatch.settings import Settings
from inferwatch.stack import ServedApp
from inferwatch.storage import SqliteStorage, Transaction

BATCH_ROWS = 50
CAPACITY = 200


class GatedStorage(SqliteStorage):
    """SQLite whose write transactions wait until the gate opens."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = threading.Event()
        self.gate.set()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        self.gate.wait(60)
        with super().transaction() as tx:
            yield tx


def rss_bytes() -> int:
    text = Path("/proc/self/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", text)
    assert match
    return int(match.group(1)) * 1024


def queue_depth(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    match = re.search(r"^inferwatch_collector_queue_depth (\S+)$", text, re.M)
    assert match
    return float(match.group(1))


def test_full_queue_answers_429_and_memory_stays_bounded(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    serve: Callable[[Any], ServedApp],
) -> None:
    storage = GatedStorage(tmp_path / "gated.db")
    settings = make_settings(queue_capacity_rows=CAPACITY, retry_after_seconds=2)
    settings.server.limits.max_concurrent_bodies = 64  # this test is about the queue's bound
    server = serve(create_app(settings, ["collector"], storage=storage))
    url = f"{server.url}/collector/models/churn/records"
    body = json.dumps([{"age": float(i), "plan": "pro"} for i in range(BATCH_ROWS)])
    headers = {"content-type": "application/json"}

    client = httpx.Client(timeout=60, limits=httpx.Limits(max_connections=16))

    def send() -> httpx.Response:
        return client.post(url, content=body, headers=headers)

    storage.gate.clear()  # the disk stalls
    pool = ThreadPoolExecutor(max_workers=12)
    try:
        waiting = [pool.submit(send) for _ in range(CAPACITY // BATCH_ROWS)]
        deadline = time.monotonic() + 20
        while queue_depth(server.url) < CAPACITY and time.monotonic() < deadline:
            time.sleep(0.05)
        assert queue_depth(server.url) == CAPACITY

        warm_up = [f.result() for f in [pool.submit(send) for _ in range(50)]]
        rss_before = rss_bytes()
        refused = warm_up + [f.result() for f in [pool.submit(send) for _ in range(250)]]
        rss_after = rss_bytes()
        assert {r.status_code for r in refused} == {429}
        assert all(r.headers["Retry-After"] == "2" for r in refused)
        assert "queue is full" in refused[0].json()["detail"]
        assert queue_depth(server.url) == CAPACITY
        # 300 refused bodies (~1 MB in all) must not have been kept
        assert rss_after - rss_before < 32 * 1024 * 1024
        assert not any(f.done() for f in waiting)  # not answered before they are durable
    finally:
        storage.gate.set()  # the disk recovers
    accepted = [f.result() for f in waiting]
    pool.shutdown()
    client.close()
    assert [r.status_code for r in accepted] == [200] * len(waiting)
    windows = httpx.get(f"{server.url}/collector/models/churn/windows").json()["windows"]
    assert sum(w["rows"] for w in windows) == CAPACITY
    assert queue_depth(server.url) == 0
    metrics = httpx.get(f"{server.url}/metrics").text
    assert (
        'inferwatch_collector_rejected_total{model="__unknown__",reason="queue_full"} 300.0'
        in metrics
    )
