"""Fleet bench, items 1 and 2: series a pod exposes, bytes a pod ships.

Series: a 40-feature recorder on its own registry, served by prometheus_client's real
HTTP exposition; the scraped text is parsed and its distinct series (name + labels)
counted, per-bin series off (the default) and on (``expose_bins=True``, the histogram
path as every pod exposed it before). Bytes: a recorder records 100 predictions/s for a
minute (6 intervals of 1,000 rows) and its shipper POSTs to a loopback HTTP server that
records each body; the figure is the body bytes as sent.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import httpx
import numpy as np
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from bench._fleet_data import columns
from inferwatch.contracts.summary import WindowSummary
from inferwatch.drift.baseline import Baseline
from inferwatch.exporters.recorder import PredictionRecorder
from inferwatch.stack import free_port

RATE = 100
"""Predictions per second per pod."""
INTERVAL_S = 10
INTERVALS = 6
"""One minute."""


def series_per_pod(base: Baseline, *, expose_bins: bool) -> int:
    """Distinct series on the recorder's /metrics after some traffic."""
    registry = CollectorRegistry()
    recorder = PredictionRecorder(base, registry=registry, expose_bins=expose_bins, seed=0)
    recorder.record_batch(columns(1000, np.random.default_rng(2)))
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        server.shutdown()
        thread.join(5)
        recorder.close()
    return len(
        {
            (s.name, tuple(sorted(s.labels.items())))
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
    )


@dataclass
class Shipped:
    """What one pod's shipper POSTed in a minute."""

    bodies: int
    body_bytes: int
    float64_bytes: int | None
    """The same summaries as they were encoded before (float64 sample numbers)."""
    sample_rows: int


class _Sink(BaseHTTPRequestHandler):
    sizes: list[int]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).sizes.append(len(body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_: Any) -> None:
        return


@contextmanager
def _sink() -> Iterator[tuple[str, list[int]]]:
    sizes: list[int] = []
    handler = type("Sink", (_Sink,), {"sizes": sizes})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sizes
    finally:
        server.shutdown()
        thread.join(5)


def float64_wire(summary: WindowSummary) -> bytes:
    """The summary as ``to_wire`` encoded it before this change (full float64 numbers)."""
    data = summary.to_dict()
    data["sample"]["columns"] = {
        f.name: [row.get(f.name) for row in summary.sample] for f in summary.features
    }
    return gzip.compress(json.dumps(data, separators=(",", ":")).encode(), compresslevel=6)


def bytes_per_minute(
    base: Baseline, *, ship: Literal["summary", "records"], reservoir_size: int
) -> Shipped:
    """One pod at ``RATE`` predictions/s for one minute, shipping every interval."""
    rng = np.random.default_rng(3)
    taken: list[WindowSummary] = []
    with _sink() as (url, sizes):
        recorder = PredictionRecorder(
            base,
            registry=None,
            collector_url=url,
            reservoir_size=reservoir_size,
            flush_interval_seconds=3600,  # shipped by hand below, one interval at a time
            ship=ship,
            seed=4,
        )
        take = recorder.take_summary

        def keep(start: float, end: float) -> WindowSummary:
            summary = take(start, end)
            taken.append(summary)
            return summary

        recorder.take_summary = keep  # type: ignore[method-assign]
        for _ in range(INTERVALS):
            recorder.record_batch(columns(RATE * INTERVAL_S, rng))
            recorder.flush()
        recorder.close()
        assert recorder.snapshot().dropped == (), recorder.snapshot().dropped
    return Shipped(
        bodies=len(sizes),
        body_bytes=sum(sizes),
        float64_bytes=sum(len(float64_wire(s)) for s in taken) if taken else None,
        sample_rows=sum(len(s.sample) for s in taken) if taken else INTERVALS * reservoir_size,
    )
