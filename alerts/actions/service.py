"""The actions part as it runs inside an inferwatch service."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import APIRouter

from inferwatch.alerts.actions._audit import ActionsMetrics
from inferwatch.alerts.actions._context import DriftContext
from inferwatch.alerts.actions._outbox import Outbox
from inferwatch.alerts.actions._policy import load_policy
from inferwatch.alerts.actions._retention import DAY_SECONDS, Pruner
from inferwatch.alerts.actions._worker import Deliverer, WorkerPool, build_targets
from inferwatch.alerts.actions.api import build_router
from inferwatch.errors import ConfigError
from inferwatch.leases import ProcessLock, single_process
from inferwatch.parts import BasePart, Part, PartContext


class ActionsPart(BasePart):
    """Turns Alertmanager webhooks into actions, exactly once.

    The policy is read and validated when the part is built, so a broken policy
    stops the service before it listens; targets (and their secrets) are built
    at start. The clock (signature windows, retention) is injected for tests.
    """

    name = "actions"

    def __init__(self, context: PartContext, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(context)
        self.settings = context.settings.alerts.actions
        self.policy = load_policy(self.settings.policy_file)
        self._check_retention()
        self.clock = clock
        self.outbox = Outbox(context.storage)
        self.metrics = ActionsMetrics(context.registry, context.storage)
        self.pool: WorkerPool | None = None
        self._process_lock: ProcessLock | None = None
        self.pruner = Pruner(context.storage, self.settings, clock=clock)

    def _check_retention(self) -> None:
        """A cooldown longer than the retention would forget the row it counts from."""
        keep = self.settings.retention_days * DAY_SECONDS
        for action, rule in self.policy.actions.items():
            if rule.cooldown_seconds > keep:
                raise ConfigError(
                    f"policy action {action!r} has cooldown_seconds {rule.cooldown_seconds:g}, "
                    f"longer than alerts.actions.retention_days ({self.settings.retention_days:g}"
                    " days); raise the retention or shorten the cooldown"
                )

    def router(self) -> APIRouter | None:
        """``/actions/alertmanager``, ``/actions/audit``, ``/actions/outbox``."""
        actions = self.context.settings.alerts.actions
        token = actions.drift_token.get_secret_value() if actions.drift_token else None
        drift = DriftContext(self.context.handoffs, actions.drift_url, token=token)
        return build_router(
            self.context.settings,
            self.outbox,
            self.policy,
            self.metrics,
            self._wake,
            context_for=drift,
            clock=self.clock,
        )

    async def start(self) -> None:
        """Build the targets, start the outbox workers and the retention pruning.

        On SQLite a second process on the same file is refused; on PostgreSQL any
        number of replicas share the outbox (``Outbox`` explains how).
        """
        self._process_lock = single_process(self.context.storage, self.name)
        targets = build_targets(self.policy, self.settings.request_timeout_seconds)
        deliverer = Deliverer(self.outbox, targets, self.settings, self.metrics, clock=self.clock)
        self.pool = WorkerPool(deliverer, self.settings)
        self.pool.start()
        self.pruner.start()

    async def stop(self) -> None:
        """Stop the workers and the pruning; idempotent."""
        await self.pruner.stop()
        if self.pool is not None:
            await self.pool.stop()
            self.pool = None
        if self._process_lock is not None:
            self._process_lock.release()
            self._process_lock = None

    def ready(self) -> str | None:
        """Ready once the workers run."""
        return None if self.pool is not None else "outbox workers not started"

    def _wake(self) -> None:
        if self.pool is not None:
            self.pool.wake()


def build_part(context: PartContext) -> Part:
    """Build the actions part on the shared context."""
    return ActionsPart(context)
