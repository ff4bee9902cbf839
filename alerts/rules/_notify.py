"""Deliver rule alerts to one or more Alertmanagers, the way Prometheus does, and catch up.

After each group evaluation, every Alertmanager gets the alerts that need sending:

- pending alerts are never sent;
- a firing alert is sent when that Alertmanager has not had it yet, or when
  ``resend_delay`` has passed since it last accepted it; its ``endsAt`` is
  ``now + 4 x max(group interval, resend_delay)``, so it expires by itself if we die;
- a resolved alert is sent with ``endsAt = resolved_at`` when it resolved after the last
  delivery, and re-sent every ``resend_delay`` while it is retained.

Deliveries are tracked per Alertmanager and only recorded on success, so an
Alertmanager that was down (or restarted and lost its alerts) gets every due alert
again at the next evaluation: nothing is dropped because a post failed. A 4xx
answer (Alertmanager refuses the alerts as malformed) is logged and counted as
``rejected`` and not retried, since sending the same body again cannot succeed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from inferwatch.alerts.alertmanager import AlertmanagerClient, AlertmanagerError, PostableAlert
from inferwatch.alerts.rules._eval import AlertSnapshot, AlertState

log = logging.getLogger("inferwatch.alerts.rules")

AlertKey = tuple[str, tuple[tuple[str, str], ...]]
OutcomeHook = Callable[[str, int], None]
"""``hook(outcome, count)`` with outcome ``sent``, ``failed`` or ``rejected``."""


def _log_sent(alert: AlertSnapshot) -> None:
    """An alert's first delivery to Alertmanager (not its re-sends), at info."""
    labels = alert.labels
    log.info(
        "alert %s",
        "resolved" if alert.resolved_at is not None else "fired",
        extra={
            "fields": {
                "alertname": labels.get("alertname", alert.rule),
                "model": labels.get("model", ""),
                "severity": labels.get("severity", ""),
                "features": labels.get("feature", ""),
                "action": labels.get("action", ""),
            }
        },
    )


@dataclass
class TargetState:
    """What one Alertmanager has accepted, and how its last delivery went."""

    client: AlertmanagerClient
    last_sent: dict[AlertKey, float] = field(default_factory=dict)
    last_error: str | None = None
    last_success: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Notifier:
    """Sends due alerts to every configured Alertmanager after each evaluation."""

    def __init__(
        self,
        clients: Sequence[AlertmanagerClient],
        *,
        resend_delay: float = 60.0,
        external_labels: dict[str, str] | None = None,
        generator_url: Callable[[str], str | None] = lambda expr: None,
        on_outcome: OutcomeHook = lambda outcome, count: None,
    ) -> None:
        self.targets = [TargetState(client) for client in clients]
        self.resend_delay = resend_delay
        self.external_labels = dict(external_labels or {})
        self.generator_url = generator_url
        self.on_outcome = on_outcome

    def send(
        self,
        group: str,
        alerts: Sequence[AlertSnapshot],
        *,
        at: float,
        interval: float,
        exprs: dict[str, str],
    ) -> None:
        """Deliver ``group``'s due alerts evaluated at ``at`` to each Alertmanager."""
        valid_until = at + 4 * max(interval, self.resend_delay)
        keys = {(group, a.fingerprint) for a in alerts}
        for target in self.targets:
            with target.lock:
                for key in [k for k in target.last_sent if k[0] == group and k not in keys]:
                    del target.last_sent[key]
                due = [a for a in alerts if self._due(target, group, a, at)]
                if due:
                    self._deliver(
                        target, group=group, due=due, at=at, valid_until=valid_until, exprs=exprs
                    )

    def close(self) -> None:
        """Release every client's connections."""
        for target in self.targets:
            target.client.close()

    def _due(self, target: TargetState, group: str, alert: AlertSnapshot, at: float) -> bool:
        if alert.state is AlertState.PENDING:
            return False
        last = target.last_sent.get((group, alert.fingerprint))
        if last is None:
            return True
        if alert.resolved_at is not None and alert.resolved_at > last:
            return True
        return last + self.resend_delay < at

    def _deliver(
        self,
        target: TargetState,
        *,
        group: str,
        due: list[AlertSnapshot],
        at: float,
        valid_until: float,
        exprs: dict[str, str],
    ) -> None:
        body = [self._postable(a, valid_until, exprs.get(a.rule, "")) for a in due]
        try:
            target.client.post_alerts(body)
        except AlertmanagerError as exc:
            target.last_error = str(exc)
            if exc.retryable:
                log.warning("alertmanager delivery failed, will retry: %s", exc)
                self.on_outcome("failed", len(due))
                return
            log.error("alertmanager rejected %d alerts, not retrying: %s", len(due), exc)
            self.on_outcome("rejected", len(due))
        else:
            target.last_error, target.last_success = None, at
            self.on_outcome("sent", len(due))
            for alert in due:
                previous = target.last_sent.get((group, alert.fingerprint))
                resolved = alert.resolved_at is not None
                if previous is None or (resolved and (alert.resolved_at or 0) > previous):
                    _log_sent(alert)
        for alert in due:
            target.last_sent[(group, alert.fingerprint)] = at

    def _postable(self, alert: AlertSnapshot, valid_until: float, expr: str) -> PostableAlert:
        labels = {**self.external_labels, **alert.labels}
        ends = alert.resolved_at if alert.resolved_at is not None else valid_until
        started = alert.fired_at if alert.fired_at is not None else alert.active_at
        return PostableAlert(
            labels=labels,
            annotations=dict(alert.annotations),
            starts_at=datetime.fromtimestamp(started, UTC),
            ends_at=datetime.fromtimestamp(ends, UTC),
            generator_url=self.generator_url(expr),
        )
