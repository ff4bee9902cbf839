"""Instant queries against any Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir).

``POST {base}/api/v1/query`` with a form body (long expressions fit, and every
compatible server accepts it). A vector result gives one ``Sample`` per series;
a scalar gives one sample without labels (as Prometheus's own rule manager does);
other result types are an error for an alerting rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from inferwatch.alerts.rules_eval import Sample
from inferwatch.errors import InferwatchError
from inferwatch.httputil import redact_url


class QueryError(InferwatchError):
    """The query API could not be reached, refused the query, or answered something unusable."""


class PrometheusQueryClient:
    """A thin client for ``/api/v1/query``; one per query endpoint."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url, timeout=timeout, headers=headers, transport=transport
        )

    def query(self, expr: str, at: float) -> list[Sample]:
        """The instant vector of ``expr`` at ``at`` (seconds since the epoch)."""
        where = f"{redact_url(self.base_url)}/api/v1/query"
        try:
            response = self._client.post("/api/v1/query", data={"query": expr, "time": f"{at:.3f}"})
        except httpx.HTTPError as exc:
            raise QueryError(f"query to {where} failed: {type(exc).__name__}") from exc
        try:
            body: Any = response.json()
        except ValueError:
            raise QueryError(
                f"query to {where} answered {response.status_code} without JSON"
            ) from None
        if response.status_code >= 400 or not isinstance(body, dict):
            detail = body.get("error", "") if isinstance(body, dict) else ""
            raise QueryError(f"query to {where} answered {response.status_code}: {detail}")
        if body.get("status") != "success":
            raise QueryError(f"query to {where} failed: {body.get('error', body)}")
        return _samples(body.get("data") or {}, where)

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()


def _samples(data: dict[str, Any], where: str) -> list[Sample]:
    kind, result = data.get("resultType"), data.get("result")
    try:
        if kind == "vector":
            return [
                Sample(labels=dict(item["metric"]), value=float(item["value"][1]))
                for item in result or []
            ]
        if kind == "scalar":
            return [Sample(labels={}, value=float(result[1]))]  # type: ignore[index]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise QueryError(f"{where} answered a malformed {kind} result: {exc}") from exc
    raise QueryError(f"{where} answered a {kind} result; an alerting rule needs an instant vector")
