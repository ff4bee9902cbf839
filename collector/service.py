"""The collector part: ingest routes, the bounded queue and writer, the window store.

It publishes its ``WindowStore`` under ``inferwatch.contracts.handoffs.WINDOWS`` when
it is built, so the drift engine finds it whatever the start order.
"""

from __future__ import annotations

from fastapi import APIRouter

from inferwatch.collector.api import build_router
from inferwatch.collector.baselines import BaselineResolver
from inferwatch.collector.errors import NoBaselineError, QueueFullError
from inferwatch.collector.limits import IngestLimits
from inferwatch.collector.metrics import CollectorMetrics
from inferwatch.collector.queue import IngestQueue
from inferwatch.collector.settings import CollectorSettings
from inferwatch.collector.windows import WindowStore
from inferwatch.contracts.handoffs import WINDOWS
from inferwatch.contracts.spec import BaselineSpec
from inferwatch.leases import ProcessLock, single_process
from inferwatch.parts import BasePart, Part, PartContext


class CollectorPart(BasePart):
    """Takes in prediction records and windows them."""

    name = "collector"

    def __init__(self, context: PartContext) -> None:
        super().__init__(context)
        self.settings: CollectorSettings = context.settings.collector
        self.metrics = CollectorMetrics(context.registry)
        self.baselines = BaselineResolver(context.handoffs, self.settings.baseline_dir)
        self.store = WindowStore(
            context.storage,
            window_seconds=self.settings.window_seconds,
            reservoir_size=self.settings.reservoir_size,
            retention_windows=self.settings.retention_windows,
            on_window_closed=lambda model: self.metrics.windows_closed.labels(model).inc(),
            on_duplicate=lambda model: self.metrics.duplicate_summaries.labels(model).inc(),
            outcome_ttl_seconds=self.settings.outcome_ttl_seconds,
        )
        self.queue = IngestQueue(
            self.store.apply,
            capacity_rows=self.settings.queue_capacity_rows,
            retry_after_seconds=self.settings.retry_after_seconds,
            on_depth=self.metrics.queue_depth.set,
        )
        limits = context.settings.server.limits
        self.limits = IngestLimits(
            max_rows=self.settings.max_rows_per_request,
            max_decoded_bytes=self.settings.max_decoded_bytes,
            max_string_bytes=self.settings.max_string_bytes,
            max_name_bytes=self.settings.max_field_name_bytes,
            max_json_depth=limits.max_json_depth,
            max_json_elements=limits.max_json_elements,
        )
        context.handoffs.publish(WINDOWS, self.store)
        self._process_lock: ProcessLock | None = None

    def router(self) -> APIRouter | None:
        """Routes under ``/collector``."""
        return build_router(self)

    async def start(self) -> None:
        """Start the writer thread.

        On SQLite this process is the file's only collector (a second is refused),
        so the writer may cache each window's row count; on PostgreSQL replicas
        share windows and each batch reads the count under a per-model lock.
        """
        self._process_lock = single_process(self.context.storage, self.name)
        self.store.shared_writers = self._process_lock is None
        self.queue.start()

    async def stop(self) -> None:
        """Write what is queued, then stop the writer."""
        self.queue.stop()
        if self._process_lock is not None:
            self._process_lock.release()
            self._process_lock = None

    def ready(self) -> str | None:
        """Ready while the writer runs."""
        return None if self.queue.alive() else "window writer is not running"

    def baseline(self, model: str) -> BaselineSpec:
        """The model's baseline, or 404 saying how to provide one."""
        found = self.baselines.get(model)
        if found is None:
            raise NoBaselineError(
                f"no baseline for model {model!r}: create one with the drift engine "
                "(inferwatch drift baseline ...) or put its JSON in collector.baseline_dir"
            )
        return found

    def check_capacity(self) -> None:
        """429 before reading a body when the queue is already full."""
        if self.queue.full():
            raise QueueFullError(
                f"ingest queue is full ({self.queue.depth} records waiting); retry later",
                retry_after=self.settings.retry_after_seconds,
            )


def build_part(context: PartContext) -> Part:
    """Build the collector part on the shared context."""
    return CollectorPart(context)
