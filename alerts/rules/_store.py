"""Alert state kept in the state store, so a restart does not restart every ``for``.

After each evaluation the group's alerts (pending, firing, resolved within
retention) are written; at start they are read back into the evaluators when the
last write is recent enough (``restore_tolerance``, like Prometheus's
``rules.alert.for-outage-tolerance``): the service was not away long enough for
the conditions to have changed unseen. Older state is discarded and every alert
starts over. Delivery bookkeeping is not kept: restored firing alerts are simply
sent again, which Alertmanager deduplicates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from inferwatch.alerts.rules._eval import AlertSnapshot, AlertState
from inferwatch.storage import Storage


class AlertStore:
    """Reads and writes each group's alerts in the ``rules_alerts`` table."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def save(self, group: str, alerts: Sequence[AlertSnapshot], at: float) -> None:
        """Replace the group's stored alerts with ``alerts`` as of ``at``."""
        rows = [
            (
                group,
                a.rule,
                json.dumps(dict(a.fingerprint)),
                json.dumps(dict(a.annotations), sort_keys=True),
                a.state.value,
                a.value,
                a.active_at,
                a.fired_at,
                a.resolved_at,
                a.keep_firing_since,
                at,
            )
            for a in alerts
        ]
        with self.storage.transaction() as tx:
            tx.execute("DELETE FROM rules_alerts WHERE grp = ?", (group,))
            tx.executemany(
                "INSERT INTO rules_alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )

    def load(self, group: str, now: float, tolerance: float) -> list[AlertSnapshot]:
        """The group's alerts, if they were saved within ``tolerance`` of ``now``."""
        rows = self.storage.query(
            "SELECT rule, labels, annotations, state, value, active_at, fired_at, resolved_at,"
            " keep_firing_since, saved_at FROM rules_alerts WHERE grp = ?",
            (group,),
        )
        return [
            AlertSnapshot(
                group=group,
                rule=rule,
                fingerprint=tuple(sorted(json.loads(labels).items())),
                labels=json.loads(labels),
                annotations=json.loads(annotations),
                state=AlertState(state),
                value=value,
                active_at=active_at,
                fired_at=fired_at,
                resolved_at=resolved_at,
                keep_firing_since=keep_firing_since,
            )
            for (
                rule,
                labels,
                annotations,
                state,
                value,
                active_at,
                fired_at,
                resolved_at,
                keep_firing_since,
                saved_at,
            ) in rows
            if now - saved_at <= tolerance
        ]

    def forget(self, groups: Iterable[str]) -> None:
        """Drop stored alerts of groups that no longer exist."""
        keep = list(groups)
        marks = ",".join("?" for _ in keep) or "''"
        with self.storage.transaction() as tx:
            tx.execute(f"DELETE FROM rules_alerts WHERE grp NOT IN ({marks})", keep)
