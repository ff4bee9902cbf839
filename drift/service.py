"""The drift part as it runs inside an inferwatch service.

Wires the stores, the engine (reading the collector's window store, handed over
as ``WINDOWS``, or Prometheus when ``drift.prometheus_url`` is set), the
``inferwatch_drift_*`` collector on the service's registry, the ``/drift`` routes and
the report cache; and publishes the baselines (``BASELINES``) for the collector and
the results (``DRIFT_RESULTS``) for the actions receiver (``inferwatch.contracts.handoffs``).
"""

from __future__ import annotations

from fastapi import APIRouter

from inferwatch.contracts.handoffs import BASELINES, DRIFT_RESULTS, WINDOWS
from inferwatch.contracts.windows import WindowSource
from inferwatch.drift.api import build_router
from inferwatch.drift.engine import DriftEngine
from inferwatch.drift.metrics import DriftCollector
from inferwatch.drift.promql import PrometheusClient
from inferwatch.drift.quality import (
    QualityBoard,
    QualityCollector,
    QualityResultStore,
    QualityTracker,
)
from inferwatch.drift.quality_api import quality_router
from inferwatch.drift.report import ReportCache
from inferwatch.drift.store import BaselineStore, ResultStore
from inferwatch.leases import Lease, ProcessLock, replica_id, single_process
from inferwatch.parts import BasePart, Part, PartContext


class DriftPart(BasePart):
    """Evaluates live windows against baselines on a schedule."""

    name = "drift"

    def __init__(self, context: PartContext) -> None:
        super().__init__(context)
        settings = context.settings.drift
        self.baselines = BaselineStore(context.storage)
        self.results = ResultStore(context.storage, history_limit=settings.history_limit)
        self.prometheus = (
            PrometheusClient(
                settings.prometheus_url,
                timeout=settings.prometheus_timeout_seconds,
                bearer_token=settings.prometheus_bearer_token,
            )
            if settings.prometheus_url
            else None
        )
        self.quality_results = QualityResultStore(context.storage)
        self.quality_board = QualityBoard()
        self.engine = DriftEngine(
            self.baselines,
            self.results,
            settings,
            windows=self._windows,
            prometheus=self.prometheus,
            quality=QualityTracker(
                self.quality_results,
                self.quality_board,
                self._windows,
                policy=settings.quality,
                horizon_seconds=settings.quality_horizon_seconds,
            ),
        )
        self.reports = ReportCache(
            max_rows=settings.report_max_rows,
            size=settings.report_cache_size,
            policy=settings.policy,
        )
        context.registry.register(DriftCollector(self.engine.board))
        context.registry.register(QualityCollector(self.quality_board))
        context.handoffs.publish(BASELINES, self.baselines)
        context.handoffs.publish(DRIFT_RESULTS, self.results)
        self._process_lock: ProcessLock | None = None
        self._replica = replica_id()

    def _windows(self) -> WindowSource | None:
        return self.context.handoffs.get(WINDOWS)

    def base_url(self) -> str:
        """Where users reach the drift API (for report links)."""
        drift = self.context.settings.drift
        return drift.public_url or self.context.settings.server.base_url()

    def router(self) -> APIRouter | None:
        """The ``/drift`` routes."""
        router = build_router(self.engine, self.reports, self.context.settings.drift, self.base_url)
        router.include_router(quality_router(self.baselines, self.quality_results))
        return router

    async def start(self) -> None:
        """Start the evaluation schedule.

        On SQLite this is the file's only drift process (a second is refused); on
        PostgreSQL each model's scheduled evaluation is claimed per round with a
        lease, so N replicas share the models and none evaluates one twice a round.
        """
        self._process_lock = single_process(self.context.storage, self.name)
        if self._process_lock is None:
            self.engine.claim = self._claim
        for info in self.baselines.models():  # the board as the store left it
            self.quality_board.update(info.model, self.quality_results.history(info.model))
        await self.engine.start()

    def _claim(self, model: str) -> bool:
        ttl = self.context.settings.drift.interval_seconds * 0.9
        lease = Lease(
            self.context.storage, f"drift.evaluate:{model}", ttl=ttl, holder=self._replica
        )
        return lease.acquire()

    async def stop(self) -> None:
        """Stop the schedule and close the Prometheus client; idempotent."""
        await self.engine.stop()
        if self.prometheus is not None:
            self.prometheus.close()
        if self._process_lock is not None:
            self._process_lock.release()
            self._process_lock = None

    def ready(self) -> str | None:
        """Not ready when the schedule died."""
        return self.engine.problem()


def build_part(context: PartContext) -> Part:
    """Build the drift part on the shared context."""
    return DriftPart(context)
