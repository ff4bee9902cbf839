"""A bounded in-memory queue in front of the window writer, with group commit.

Requests put their validated batch here and wait for the writer thread to
commit it; the answer (2xx) is sent only after the commit, so an acknowledged
record is durable. The writer drains everything waiting into one transaction
(group commit), which is what lets many small requests share one fsync; when
that transaction fails, each batch is retried alone, so only the batch at fault
fails. The
queue is bounded in records: when a batch would overflow it, ``submit`` raises
``QueueFullError`` (429 with Retry-After) instead of letting memory grow.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from inferwatch.collector.errors import QueueFullError
from inferwatch.collector.windows import Item

log = logging.getLogger("inferwatch.collector")


class IngestQueue:
    """Bounded queue of batches and the single worker that writes them."""

    def __init__(
        self,
        apply: Callable[[Sequence[Item]], None],
        *,
        capacity_rows: int,
        retry_after_seconds: int = 1,
        on_depth: Callable[[int], None] | None = None,
    ) -> None:
        self._apply = apply
        self.capacity_rows = capacity_rows
        self.retry_after_seconds = retry_after_seconds
        self._on_depth = on_depth
        self._items: deque[tuple[Item, Future[None]]] = deque()
        self._pending_rows = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def depth(self) -> int:
        """Records accepted into the queue and not yet committed."""
        return self._pending_rows

    def full(self) -> bool:
        """True when no further batch would be taken right now."""
        return self._pending_rows >= self.capacity_rows

    def submit(self, batch: Item) -> Future[None]:
        """Queue ``batch``; the future completes once it is committed."""
        future: Future[None] = Future()
        with self._cond:
            if self._stopping or self._thread is None:
                raise QueueFullError(
                    "collector is not running its writer", retry_after=self.retry_after_seconds
                )
            if self._pending_rows and self._pending_rows + batch.rows > self.capacity_rows:
                raise QueueFullError(
                    f"ingest queue is full ({self._pending_rows} of {self.capacity_rows} "
                    "records waiting); retry later",
                    retry_after=self.retry_after_seconds,
                )
            self._items.append((batch, future))
            self._pending_rows += batch.rows
            self._report()
            self._cond.notify()
        return future

    def start(self) -> None:
        """Start the writer thread."""
        with self._cond:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="collector-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop; safe to call twice."""
        with self._cond:
            thread = self._thread
            self._stopping = True
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            self._thread = None

    def alive(self) -> bool:
        """True while the writer thread runs."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._stopping:
                    self._cond.wait()
                if not self._items and self._stopping:
                    return
                taken = list(self._items)
                self._items.clear()
            self._write(taken)

    def _write(self, taken: list[tuple[Item, Future[None]]]) -> None:
        try:
            self._commit(taken)
        finally:
            with self._cond:
                self._pending_rows -= sum(batch.rows for batch, _ in taken)
                self._report()

    def _commit(self, taken: list[tuple[Item, Future[None]]]) -> None:
        """Group commit; when the group fails, each batch alone, so one cannot fail another."""
        try:
            self._apply([batch for batch, _ in taken])
        except Exception as exc:
            if len(taken) == 1:
                log.exception("collector failed to write a batch of model %s", taken[0][0].model)
                taken[0][1].set_exception(exc)
                return
            log.warning(
                "group commit of %d batches failed (%s); writing each alone", len(taken), exc
            )
            for one in taken:
                self._commit([one])
        else:
            for _, future in taken:
                future.set_result(None)

    def _report(self) -> None:
        if self._on_depth is not None:
            self._on_depth(self._pending_rows)
