"""The rules part: evaluates each rule group on its interval and posts alerts to Alertmanager.

Each group runs in its own asyncio task; an evaluation (queries and posts, which
block on the network) runs in a worker thread so the event loop keeps serving.
Evaluations are aligned to ``start + k x interval``; when one runs past its slot
the missed slots are skipped and counted (``inferwatch_rules_iterations_missed_total``),
as Prometheus does. Without ``alerts.rules.query_url`` the groups are loaded and
listed but not evaluated (``/rules/status`` says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from fastapi import APIRouter
from prometheus_client import Gauge

from inferwatch.alerts.rules._engine import RulesEngine, build_engine
from inferwatch.alerts.rules._store import AlertStore
from inferwatch.alerts.rules.api import build_router
from inferwatch.leases import Lease, ProcessLock, single_process
from inferwatch.parts import BasePart, Part, PartContext

log = logging.getLogger("inferwatch.alerts.rules")


class RulesPart(BasePart):
    """Evaluates rule groups and posts alerts to Alertmanager."""

    name = "rules"

    def __init__(
        self,
        context: PartContext,
        engine: RulesEngine | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(context)
        self.clock = clock
        self.engine = engine or build_engine(
            context.settings, context.registry, store=AlertStore(context.storage), clock=clock
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._process_lock: ProcessLock | None = None
        self.leader: Lease | None = None
        """Replicas on PostgreSQL: the lease whose holder evaluates and posts (None on SQLite)."""
        self.leading = True
        """False while another replica leads (or until this one has restored its state)."""
        self._leader_gauge = Gauge(
            "inferwatch_rules_leader",
            "1 when this replica evaluates and posts alerts (always on SQLite), else 0.",
            registry=context.registry,
        )

    def router(self) -> APIRouter | None:
        """``/rules/groups``, ``/rules/alerts``, ``/rules/status``."""
        return build_router(self.engine)

    async def start(self) -> None:
        """Start one evaluation loop per group (none without a query URL)."""
        if self.engine.query is None:
            log.warning("alerts.rules.query_url is not set; rule groups are not evaluated")
            return
        self._process_lock = single_process(self.context.storage, self.name)
        if self._process_lock is None:
            rules = self.context.settings.alerts.rules
            self.leader = Lease(
                self.context.storage,
                "rules.leader",
                ttl=rules.leader_lease_seconds,
            )
            self.leading = False
            await self._renew()
            self._tasks.append(asyncio.create_task(self._lead(), name="rules:leader"))
        else:
            restored = await asyncio.to_thread(self.engine.restore)
            if restored:
                log.info("restored %d alerts from the state store", restored)
            self._leader_gauge.set(1)
        for name, group in self.engine.groups.items():
            task = asyncio.create_task(self._loop(name, group.interval), name=f"rules:{name}")
            self._tasks.append(task)

    async def stop(self) -> None:
        """Cancel the loops and close connections; safe to call twice."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.leader is not None and self.leading:
            try:  # hand over at once instead of after the TTL
                await asyncio.to_thread(self.leader.release)
            except Exception:
                log.warning("could not release the rules leader lease", exc_info=True)
            self.leading = False
        self._leader_gauge.set(0)
        if self._process_lock is not None:
            self._process_lock.release()
            self._process_lock = None
        self.engine.close()

    def ready(self) -> str | None:
        """Always ready: a failing query endpoint shows in rule health, not readiness."""
        return None

    async def _renew(self) -> None:
        """Take or renew the leader lease; a new leader first restores the old one's alerts."""
        assert self.leader is not None
        try:
            held = await asyncio.to_thread(self.leader.acquire)
        except Exception:
            log.warning("could not renew the rules leader lease", exc_info=True)
            held = False
        if held and not self.leading:
            restored = await asyncio.to_thread(self.engine.restore)
            log.info(
                "rules: leading now (%s); continued %d alerts from the state store",
                self.leader.holder,
                restored,
            )
        elif not held and self.leading:
            log.warning("rules: lost the leader lease; another replica posts alerts now")
        self.leading = held
        self._leader_gauge.set(1 if held else 0)

    async def _lead(self) -> None:
        assert self.leader is not None
        while True:
            await asyncio.sleep(self.leader.ttl / 3)
            await self._renew()

    def _may_evaluate(self) -> bool:
        if self.leader is None:
            return True
        return self.leading and self.leader.held()

    async def _loop(self, name: str, interval: float) -> None:
        slot = self.clock()
        while True:
            try:
                if self._may_evaluate():
                    await asyncio.to_thread(self.engine.evaluate, name, slot)
            except Exception:
                log.exception("evaluation of rule group %s failed", name)
            slot += interval
            now = self.clock()
            if now > slot:
                missed = int((now - slot) // interval) + 1
                self.engine.metrics.missed.labels(name).inc(missed)
                slot += missed * interval
            await asyncio.sleep(max(0.0, slot - now))


def build_part(context: PartContext) -> Part:
    """Build the rules part on the shared context."""
    return RulesPart(context)
