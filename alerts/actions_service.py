"""The actions part as it runs inside an inferwatch service."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter

from inferwatch.alerts.actions_api import build_router
from inferwatch.alerts.actions_audit import ActionsMetrics
from inferwatch.alerts.actions_context import DriftContext
from inferwatch.alerts.actions_outbox import MIGRATIONS, Outbox
from inferwatch.alerts.actions_policy import load_policy
from inferwatch.alerts.actions_worker import Deliverer, WorkerPool, build_targets
from inferwatch.parts import BasePart, Part, PartContext
from inferwatch.storage import Migration


class ActionsPart(BasePart):
    """Turns Alertmanager webhooks into actions, exactly once.

    The policy is read and validated when the part is built, so a broken policy
    stops the service before it listens; targets (and their secrets) are built
    at start.
    """

    name = "actions"

    def __init__(self, context: PartContext) -> None:
        super().__init__(context)
        self.settings = context.settings.alerts.actions
        self.policy = load_policy(self.settings.policy_file)
        self.outbox = Outbox(context.storage)
        self.metrics = ActionsMetrics(context.registry, context.storage)
        self.pool: WorkerPool | None = None

    def router(self) -> APIRouter | None:
        """``/actions/alertmanager``, ``/actions/audit``, ``/actions/outbox``."""
        actions = self.context.settings.alerts.actions
        token = actions.drift_token.get_secret_value() if actions.drift_token else None
        drift = DriftContext(self.context.shared, actions.drift_url, token=token)
        return build_router(
            self.context.settings,
            self.outbox,
            self.policy,
            self.metrics,
            self._wake,
            context_for=drift,
        )

    def migrations(self) -> Sequence[Migration]:
        """The outbox and audit tables."""
        return MIGRATIONS

    async def start(self) -> None:
        """Build the targets and start the outbox workers."""
        targets = build_targets(self.policy, self.settings.request_timeout_seconds)
        deliverer = Deliverer(self.outbox, targets, self.settings, self.metrics)
        self.pool = WorkerPool(deliverer, self.settings)
        self.pool.start()

    async def stop(self) -> None:
        """Stop the workers; idempotent."""
        if self.pool is not None:
            await self.pool.stop()
            self.pool = None

    def ready(self) -> str | None:
        """Ready once the workers run."""
        return None if self.pool is not None else "outbox workers not started"

    def _wake(self) -> None:
        if self.pool is not None:
            self.pool.wake()


def build_part(context: PartContext) -> Part:
    """Build the actions part on the shared context."""
    return ActionsPart(context)
