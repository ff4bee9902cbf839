"""The drift engine's view of a model, attached to an action when the alert is accepted.

An alert only says "model X drifted"; a retraining pipeline wants to know which
features, by which statistics, on which baseline. When the receiver accepts an
action it looks up the model's latest drift result (in-process through
``PartContext.shared["drift_results"]``, or over HTTP from ``alerts.actions.drift_url``)
and stores the summary with the action, so every delivery of the episode carries
the same facts. A lookup that fails leaves the summary out; it never blocks the
alert.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from inferwatch.contracts.results import DriftEvaluation

log = logging.getLogger("inferwatch.actions")
SHARED_RESULTS_KEY = "drift_results"
_FIELDS = (
    "verdict",
    "drift_detected",
    "drifted_features",
    "baseline_version",
    "rows",
    "path",
    "window_start",
    "window_end",
    "evaluated_at",
)


class LatestResults(Protocol):
    """What the drift part publishes: the newest evaluation per model."""

    def latest(self, model: str) -> DriftEvaluation | None: ...


def summarise(result: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a drift result a pipeline needs, plus the drifted methods per feature."""
    summary = {key: result.get(key) for key in _FIELDS if key in result}
    methods: dict[str, list[str]] = {}
    for feature in result.get("features", []):
        if feature.get("drifted"):
            methods.setdefault(str(feature["feature"]), []).append(str(feature["method"]))
    summary["drifted_methods"] = methods
    return summary


class DriftContext:
    """Looks up a model's latest drift result for the action payload."""

    def __init__(
        self,
        shared: Mapping[str, object],
        drift_url: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 2.0,
    ) -> None:
        self._shared = shared
        self._drift_url = drift_url.rstrip("/") if drift_url else None
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = timeout

    def __call__(self, model: str) -> dict[str, Any]:
        """``{"drift": summary}``, or ``{}`` when nothing is known."""
        result = self._in_process(model) or self._over_http(model)
        return {"drift": summarise(result)} if result else {}

    def _in_process(self, model: str) -> dict[str, Any] | None:
        results = self._shared.get(SHARED_RESULTS_KEY)
        latest = getattr(results, "latest", None)
        if latest is None:
            return None
        evaluation = latest(model)
        return evaluation.to_dict() if isinstance(evaluation, DriftEvaluation) else None

    def _over_http(self, model: str) -> dict[str, Any] | None:
        if self._drift_url is None:
            return None
        url = f"{self._drift_url}/drift/models/{quote(model, safe='')}/results/latest"
        try:
            answer = httpx.get(url, headers=self._headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            log.warning("drift result of %s not attached: %s", model, type(exc).__name__)
            return None
        if answer.status_code != 200:
            return None
        body: dict[str, Any] = answer.json()
        return body
