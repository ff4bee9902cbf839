"""Ship the recorder's reservoir sample to the collector, in the background.

Every ``interval_seconds`` the thread takes the recorder's sample (at most
``reservoir_size`` records: memory is bounded whatever the traffic) and POSTs
it as columnar JSON to ``{collector_url}/collector/models/{model}/records``.
Nothing is retried or queued: when the collector is down, slow, full (429) or
refuses the batch, the sample is dropped and counted in
``inferwatch_recorder_dropped_total{reason}``, so the model is never blocked
and never pays in memory for a collector outage.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx

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
        collector_url: str | None,
        interval_seconds: float,
        timeout_seconds: float,
        api_token: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._recorder = recorder
        self.url = (
            f"{collector_url.rstrip('/')}/collector/models/{quote(recorder.model, safe='')}/records"
            if collector_url
            else None
        )
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
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        self.ship_once()
        if self._client is not None:
            self._client.close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.ship_once()
            except Exception:
                log.exception("recorder shipping failed; continuing")

    def ship_once(self) -> None:
        """Take the current sample and send it; drop and count on any failure."""
        if self.url is None or self._client is None or self._client.is_closed:
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
            if reason is None:
                self.shipped += len(sample)
            else:
                self._dropped[reason] += len(sample)


def _drop_reason(status: int | None) -> str:
    """The ``reason`` label of records dropped after an answer ``status`` (None: no answer)."""
    if status is None:
        return "collector_unavailable"
    if status == 429:
        return "collector_busy"
    if status >= 500:
        return "collector_error"
    return "rejected"
