"""Instant queries for alerting rules, through the one PromQL client (``inferwatch.promql``).

A vector result gives one ``Sample`` per series; a scalar gives one sample without
labels (as Prometheus's own rule manager does); other result types are an error
for an alerting rule.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from inferwatch.promql import PromQLClient, PromQLError, Sample


class QueryError(PromQLError):
    """The query API could not be reached, refused the query, or answered something unusable."""


class PrometheusQueryClient(PromQLClient):
    """The core PromQL client for rules: scalars allowed, ``QueryError`` on failure."""

    error = QueryError

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        bearer_token: str | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url,
            timeout=timeout,
            bearer_token=bearer_token,
            headers=headers,
            transport=transport,
        )

    def query(self, expr: str, at: float) -> list[Sample]:
        """The instant vector (or scalar) of ``expr`` at ``at`` (seconds since the epoch)."""
        return self.instant(expr, at, scalar=True)
