"""Ship what the recorder saw to the collector, in the background.

Every ``interval_seconds`` the thread takes the interval's window summary (``ship=
"summary"``, the default: counts per baseline bin, missing, count and sum per feature,
and the reservoir sample, ``inferwatch.contracts.summary``) and POSTs it gzip-compressed
to ``{collector_url}/collector/models/{model}/summaries``. Collectors are stateless
replicas, so the shipper may be given several: when the one it sends to does not take a
summary (no answer, 429, 5xx) it moves on to the next at once and stays there; only
when every one has failed in turn does it back off. Summaries wait in a bounded
queue (``max_pending`` of them); when the collectors are down, busy (429) or failing (5xx)
the queue is retried with exponential backoff (``interval * 2**rounds`` for ``rounds``
full turns of failures, at most ``max_backoff_seconds``), and a summary pushed out of
the full queue is dropped. A
summary the collector refuses (4xx: another baseline version, a malformed one) is
dropped at once. Every dropped summary is counted, in records, in
``inferwatch_recorder_dropped_total{reason}``; ``inferwatch_recorder_queued_windows``
shows what waits. The model is never blocked and memory stays bounded.

Each summary carries an ``Idempotency-Key`` (this recorder's random id and the summary's
sequence number): one whose answer was lost (a read timeout after the collector committed
it, a collector killed after its commit) is sent again under the same key, and whichever
collector replica gets it merges it once.

``ship="records"`` keeps the earlier path: the sample alone, as columnar JSON to
``/records``, tried once and dropped (counted) on any failure.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

import httpx
import numpy as np

from inferwatch.contracts.summary import WindowSummary
from inferwatch.exporters.recorder.settings import MIN_SAMPLE_ROWS
from inferwatch.http_client import Call, HttpCallError, HttpClient, auth_for

if TYPE_CHECKING:
    from inferwatch.exporters.recorder import PredictionRecorder

log = logging.getLogger("inferwatch.exporters.recorder")


class Shipper:
    """The background sender of one recorder."""

    def __init__(
        self,
        recorder: PredictionRecorder,
        *,
        collector_url: str | Sequence[str] | None,
        interval_seconds: float,
        timeout_seconds: float,
        api_token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        ship: Literal["summary", "records"] = "summary",
        max_pending: int = 6,
        max_backoff_seconds: float = 300.0,
    ) -> None:
        self._recorder = recorder
        self.ship = ship
        route = "summaries" if ship == "summary" else "records"
        model = quote(recorder.model, safe="")
        bases = [collector_url] if isinstance(collector_url, str) else list(collector_url or ())
        self.urls = [f"{b.rstrip('/')}/collector/models/{model}/{route}" for b in bases if b]
        """Where summaries go, one collector replica per entry; ``url`` is the current one."""
        self._target = 0
        self.max_pending = max_pending
        self.max_backoff_seconds = max_backoff_seconds
        self._pending: deque[tuple[bytes, int, str]] = deque()
        """Summaries waiting to be sent: (wire form, records summarised, idempotency key)."""
        self._sender_id = uuid.uuid4().hex
        self._sample_rate = 1.0
        """Share of an interval's rows the collector's window needs (its last answer)."""
        self._rng = np.random.default_rng()
        self._sequence = 0
        self._failures = 0
        self._retry_at = 0.0
        self._interval_start = time.time()
        self.interval_seconds = interval_seconds
        self._client = (
            HttpClient(
                timeout=timeout_seconds,
                auth=auth_for(bearer_token=api_token),
                transport=transport,
            )
            if self.url
            else None
        )
        self._dropped: Counter[str] = Counter()
        self.shipped = 0
        self._lock = threading.Lock()
        self._shipping = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str | None:
        """The collector endpoint summaries go to now (None: shipping is off)."""
        return self.urls[self._target] if self.urls else None

    @property
    def queued(self) -> int:
        """Summaries waiting to be sent."""
        with self._lock:
            return len(self._pending)

    def dropped(self) -> tuple[tuple[str, int], ...]:
        """Records dropped so far, by reason."""
        with self._lock:
            return tuple(sorted(self._dropped.items()))

    def start(self) -> None:
        """Start the background thread (once)."""
        if self._thread is None and self.url is not None:
            self._thread = threading.Thread(
                target=self._run, name=f"recorder-{self._recorder.model}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Ship the last sample, stop the thread, close the client; idempotent."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval_seconds + 10)
        self.ship_once(final=True)
        if self._client is not None:
            self._client.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.ship_once()
            except Exception:
                log.exception("recorder shipping failed; continuing")

    def ship_once(self, *, final: bool = False) -> None:
        """Take this interval's summary (or sample) and send what waits."""
        if self.url is None or self._client is None or self._client.is_closed:
            return
        if self.ship == "summary":
            with self._shipping:  # the thread and flush()/stop() never send one summary twice
                self._ship_summaries(final=final)
            return
        sample, _seen = self._recorder.take_sample()
        if not sample:
            return
        body = {"columns": self._recorder.to_rows(sample)}
        reason = None
        try:
            # A write without an idempotency key, tried once: the sample is dropped
            # (and counted) rather than queued or sent twice.
            self._client.request("POST", self.url, call=Call.WRITE, json=body)
        except HttpCallError as exc:
            reason = _drop_reason(exc.status_code)
            log.warning("%d records dropped (%s): %s", len(sample), reason, exc)
        with self._lock:
            if reason in _TRANSIENT:
                self._fail_over()
            if reason is None:
                self.shipped += len(sample)
            else:
                self._dropped[reason] += len(sample)

    def _ship_summaries(self, *, final: bool) -> None:
        now = time.time()
        summary = thinned(
            self._recorder.take_summary(self._interval_start, now), self._sample_rate, self._rng
        )
        self._interval_start = now
        if summary.rows:
            with self._lock:
                self._sequence += 1
                key = f"{self._sender_id}:{self._sequence}"
                self._pending.append((summary.to_wire(), summary.rows, key))
                while len(self._pending) > self.max_pending:
                    _, rows, _ = self._pending.popleft()
                    self._dropped["queue_full"] += rows
                    log.warning("%d records dropped: summary queue full", rows)
        if not final and time.monotonic() < self._retry_at:
            return
        while True:
            with self._lock:
                if not self._pending:
                    break
                body, rows, key = self._pending[0]
            reason = self._send(body, key)
            transient = reason in _TRANSIENT
            with self._lock:
                if reason is None:
                    self._pending.popleft()
                    self.shipped += rows
                    self._failures = 0
                    continue
                if not transient:
                    self._pending.popleft()
                    self._dropped[reason] += rows
                    continue
                self._failures += 1
                self._fail_over()
                if self._failures % len(self.urls):  # a replica not tried this turn: now
                    continue
                rounds = self._failures // len(self.urls)
                backoff = min(
                    self.interval_seconds * 2 ** min(rounds, 30), self.max_backoff_seconds
                )
                self._retry_at = time.monotonic() + backoff
                if final:  # shutting down: what could not be sent is dropped, counted
                    for _, left, _ in self._pending:
                        self._dropped[reason] += left
                    self._pending.clear()
                break

    def _fail_over(self) -> None:
        """Send to the next collector replica from now on (the caller holds the lock)."""
        if len(self.urls) > 1:
            self._target = (self._target + 1) % len(self.urls)
            log.warning("collector did not take it; shipping to %s from now on", self.url)

    def _send(self, body: bytes, key: str) -> str | None:
        """POST one summary; None when delivered, else the drop reason."""
        assert self._client is not None and self.url is not None
        try:
            answer = self._client.request(
                "POST",
                self.url,
                call=Call.WRITE,
                idempotency_key=key,
                content=body,
                headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            )
        except HttpCallError as exc:
            log.warning("summary not delivered: %s", exc)
            return _drop_reason(exc.status_code)
        self._sample_rate = _sample_rate(answer)
        return None


def thinned(summary: WindowSummary, rate: float, rng: np.random.Generator) -> WindowSummary:
    """The summary with its sample cut to the collector's ``rate`` of the interval's rows
    (at least ``MIN_SAMPLE_ROWS``): a uniform subset of a uniform sample is uniform, and a
    pod among thousands then ships a few rows instead of its whole interval sample."""
    keep = max(MIN_SAMPLE_ROWS, math.ceil(rate * summary.sampled_from))
    if len(summary.sample) <= keep:
        return summary
    chosen = np.sort(rng.choice(len(summary.sample), size=keep, replace=False))
    return replace(summary, sample=tuple(summary.sample[int(i)] for i in chosen))


def _sample_rate(answer: httpx.Response) -> float:
    """The collector's ``sample_rate`` (1.0 when it does not say)."""
    try:
        rate = float(answer.json().get("sample_rate", 1.0))
    except (ValueError, AttributeError, TypeError):
        return 1.0
    return min(1.0, rate) if rate > 0 else 1.0


_TRANSIENT = frozenset({"collector_unavailable", "collector_busy", "collector_error"})
"""Drop reasons after which the summary is kept and sent again (another replica first)."""


def _drop_reason(status: int | None) -> str:
    """The ``reason`` label of records dropped after an answer ``status`` (None: no answer)."""
    if status is None:
        return "collector_unavailable"
    if status == 429:
        return "collector_busy"
    if status == 409:
        return "baseline_version"
    if status >= 500:
        return "collector_error"
    return "rejected"
