"""The statuses of an outbox row, one enum; the values are what the ``status`` column holds.

Rows move ``pending`` -> ``done`` | ``failed`` | ``ignored`` (``pending`` again after a
retryable failure, or when an operator re-queues a ``failed`` row); ``dry_run`` rows are
recorded and never delivered.
"""

from __future__ import annotations

from enum import StrEnum


class OutboxStatus(StrEnum):
    """Where an outbox row is; the values are what the ``status`` column holds."""

    PENDING = "pending"
    """Waiting for a worker (first try, or a retry after a backoff)."""
    DONE = "done"
    """The target acted."""
    FAILED = "failed"
    """Retries ran out, or the failure was final; an operator may re-queue it."""
    DRY_RUN = "dry_run"
    """Recorded only: the policy or the receiver is in dry-run mode."""
    IGNORED = "ignored"
    """The target refused to act (KEDA owns the HPA)."""
