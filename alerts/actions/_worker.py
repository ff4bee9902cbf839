"""Outbox workers: claim a due action, run its target, record the outcome.

A retryable failure (5xx, 429, timeout, network) is tried again after an
exponential backoff with jitter (at least the ``Retry-After`` the target asked for,
up to ``backoff_max_seconds``) until ``max_attempts``; then, or at once for a
final failure (other 4xx, bad configuration), the action is ``failed`` and shows
in the audit log, the outbox listing and ``inferwatch_actions_total``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping

from inferwatch.alerts.actions._audit import ActionsMetrics, Decision
from inferwatch.alerts.actions._outbox import Claim, Outbox, backoff
from inferwatch.alerts.actions._policy import Policy
from inferwatch.alerts.actions._status import OutboxStatus
from inferwatch.alerts.actions.settings import ActionsSettings
from inferwatch.alerts.actions.targets import (
    Target,
    TargetError,
    TargetRefusedError,
    build_target,
)

log = logging.getLogger("inferwatch.actions")


def build_targets(policy: Policy, timeout: float) -> dict[str, Target]:
    """Every target the policy defines."""
    return {name: build_target(cfg, timeout) for name, cfg in policy.targets.items()}


class Deliverer:
    """Runs one claimed action and records what happened (blocking; call from a thread)."""

    def __init__(
        self,
        outbox: Outbox,
        targets: Mapping[str, Target],
        settings: ActionsSettings,
        metrics: ActionsMetrics,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.outbox = outbox
        self.targets = targets
        self.settings = settings
        self.metrics = metrics
        self._rng = rng or random.Random()
        self._clock = clock

    def run_once(self) -> bool:
        """Deliver one due action; False when nothing was due."""
        claim = self.outbox.claim(self.settings.lease_seconds, self._clock())
        if claim is None:
            return False
        self._deliver(claim)
        return True

    def _deliver(self, claim: Claim) -> None:
        entry = claim.entry
        base = (entry.model, entry.action)
        target = self.targets.get(entry.target)
        try:
            if target is None:
                raise TargetError(f"target {entry.target!r} is not in the policy", retryable=False)
            result = target.execute(entry.request)
        except TargetRefusedError as exc:
            self._finish(claim, OutboxStatus.IGNORED, Decision(*base, "ignored", str(exc)))
        except TargetError as exc:
            self._failed(claim, exc)
        except Exception as exc:  # a bug in a target must not kill the worker
            log.exception("target %s crashed", entry.target)
            self._failed(claim, TargetError(f"{type(exc).__name__}: {exc}", retryable=True))
        else:
            self._finish(claim, OutboxStatus.DONE, Decision(*base, "done", result.detail))

    def _failed(self, claim: Claim, exc: TargetError) -> None:
        entry = claim.entry
        base = (entry.model, entry.action)
        detail = f"attempt {entry.attempts}: {exc}"
        if exc.retryable and entry.attempts < self.settings.max_attempts:
            delay = backoff(
                entry.attempts,
                self.settings.backoff_initial_seconds,
                self.settings.backoff_max_seconds,
                self._rng,
            )
            if exc.retry_after is not None:  # the target said when (429, 503 Retry-After)
                delay = max(delay, min(exc.retry_after, self.settings.backoff_max_seconds))
            decision = Decision(*base, "retry", f"{detail}; retry in {delay:.1f}s")
            self._finish(claim, OutboxStatus.PENDING, decision, str(exc), self._clock() + delay)
        else:
            why = "retries exhausted" if exc.retryable else "not retryable"
            self._finish(
                claim, OutboxStatus.FAILED, Decision(*base, "failed", f"{detail} ({why})"), str(exc)
            )

    def _finish(
        self,
        claim: Claim,
        status: OutboxStatus,
        decision: Decision,
        error: str = "",
        retry_at: float | None = None,
    ) -> None:
        full = Decision(
            decision.model,
            decision.action,
            decision.outcome,
            decision.detail,
            claim.entry.dedup_key,
            claim.entry.target,
        )
        kept = self.outbox.finish(
            claim, status=status, decision=full, error=error, retry_at=retry_at, now=self._clock()
        )
        if kept:
            self.metrics.count([full])
            log.info(
                "action %s",
                full.outcome,
                extra={
                    "fields": {
                        "model": full.model,
                        "action": full.action,
                        "target": full.target,
                        "detail": full.detail,
                    }
                },
            )
        else:
            log.warning("lost the lease on outbox row %s; another worker owns it", claim.entry.id)


class WorkerPool:
    """``settings.workers`` asyncio tasks that run the deliverer in threads."""

    def __init__(self, deliverer: Deliverer, settings: ActionsSettings) -> None:
        self.deliverer = deliverer
        self.settings = settings
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        """Start the workers on the running loop."""
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"actions-worker-{i}")
            for i in range(self.settings.workers)
        ]

    def wake(self) -> None:
        """Tell idle workers that something was queued (call on the loop)."""
        self._wake.set()

    async def stop(self) -> None:
        """Let in-flight deliveries finish (bounded by the request timeout), then cancel."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.settings.request_timeout_seconds + 1)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                busy = await asyncio.to_thread(self.deliverer.run_once)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox worker failed; continuing")
                busy = False
            if not busy and not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), timeout=self.settings.poll_interval_seconds
                    )
