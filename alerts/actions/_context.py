"""The drift engine's view of a model, attached to an action when the alert is accepted.

An alert only says "model X drifted"; a retraining pipeline wants to know which
features, by which statistics, on which baseline. When the receiver accepts an
action it looks up the model's latest drift result (in-process from the drift
part's ``LatestResults``, handed over as ``inferwatch.contracts.handoffs.DRIFT_RESULTS``,
or over HTTP from ``alerts.actions.drift_url``) and stores the summary with the
action, so every delivery of the episode carries the same facts. A lookup that
fails leaves the summary out; it never blocks the alert.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from inferwatch.contracts.handoffs import DRIFT_RESULTS
from inferwatch.handoffs import Handoffs
from inferwatch.http_client import Call, HttpCallError, HttpClient, auth_for

log = logging.getLogger("inferwatch.actions")
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
        handoffs: Handoffs,
        drift_url: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 2.0,
    ) -> None:
        self._handoffs = handoffs
        self._drift_url = drift_url.rstrip("/") if drift_url else None
        self._auth = auth_for(bearer_token=token)
        self._timeout = timeout

    def __call__(self, model: str) -> dict[str, Any]:
        """``{"drift": summary}``, or ``{}`` when nothing is known."""
        result = self._in_process(model) or self._over_http(model)
        return {"drift": summarise(result)} if result else {}

    def _in_process(self, model: str) -> dict[str, Any] | None:
        results = self._handoffs.get(DRIFT_RESULTS)
        evaluation = results.latest(model) if results is not None else None
        return evaluation.to_dict() if evaluation is not None else None

    def _over_http(self, model: str) -> dict[str, Any] | None:
        if self._drift_url is None:
            return None
        url = f"{self._drift_url}/drift/models/{quote(model, safe='')}/results/latest"
        try:
            # One quick read: the alert is accepted with or without the summary.
            with HttpClient(timeout=self._timeout, auth=self._auth) as http:
                answer = http.request("GET", url, call=Call.READ)
        except HttpCallError as exc:
            if exc.status_code != 404:  # 404: the model has no result yet
                log.warning("drift result of %s not attached: %s", model, exc)
            return None
        if answer.status_code != 200:
            return None
        body: dict[str, Any] = answer.json()
        return body
