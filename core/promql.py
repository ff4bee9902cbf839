"""The one client of the Prometheus HTTP query API (Prometheus, Thanos, Mimir).

Instant queries (``/api/v1/query``) and range queries (``/api/v1/query_range``),
both as ``POST`` with a form body: long expressions fit and every compatible
server accepts it. The drift engine's histogram path and the rules service use it;
each part raises its own subclass of ``PromQLError`` by setting ``error``.

A query is a read: network errors, 429 and 5xx are tried again per
``inferwatch.http_client`` (``Call.READ``); the caller's schedule does the rest.

Errors::

    InferwatchError
    └── PromQLError   unreachable, refused the query, or answered something unusable
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from inferwatch.errors import InferwatchError
from inferwatch.http_client import Call, HttpCallError, HttpClient, RetryPolicy, auth_for
from inferwatch.httputil import redact_url

QUERY_RETRY = RetryPolicy(attempts=2, backoff_seconds=0.2, max_retry_after_seconds=2.0)
"""One more try after a short wait: the evaluation's own interval is the longer retry."""


class PromQLError(InferwatchError):
    """The query API could not be reached, refused the query, or answered something unusable."""


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector (a scalar is one sample without labels)."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range vector: ``(timestamp, value)`` points, oldest first."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


class PromQLClient:
    """Queries against one Prometheus-compatible API.

    Example:
        >>> client = PromQLClient("http://127.0.0.1:9090/")
        >>> client.base_url
        'http://127.0.0.1:9090'
        >>> client.close()
    """

    error: ClassVar[type[PromQLError]] = PromQLError
    """The exception this client raises (a part's own subclass of ``PromQLError``)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        bearer_token: str | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
        retry: RetryPolicy = QUERY_RETRY,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = HttpClient(
            self.base_url,
            timeout=timeout,
            auth=auth_for(bearer_token=bearer_token),
            headers=headers,
            transport=transport,
            client=client,
            retry=retry,
        )

    def instant(self, expr: str, at: float | None = None, *, scalar: bool = False) -> list[Sample]:
        """The instant vector of ``expr`` at ``at`` (seconds since the epoch; default now).

        With ``scalar`` a scalar result is one sample without labels (as Prometheus's
        rule manager reads it); otherwise anything but a vector is an error.
        """
        form = {"query": expr}
        if at is not None:
            form["time"] = f"{at:.3f}"
        data = self._post("/api/v1/query", expr, form)
        kind, result = data.get("resultType"), data.get("result")
        try:
            if kind == "vector":
                return [_sample(item) for item in result or []]
            if kind == "scalar" and scalar:
                return [Sample(labels={}, value=float(result[1]))]  # type: ignore[index]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise self.error(f"query {expr!r} returned a malformed {kind} result: {exc}") from exc
        raise self.error(f"query {expr!r} gave a {kind} result, not a vector")

    def range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """The range vector of ``expr`` from ``start`` to ``end`` every ``step`` seconds."""
        form = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = self._post("/api/v1/query_range", expr, form)
        if data.get("resultType") != "matrix":
            raise self.error(f"range query {expr!r} gave a {data.get('resultType')} result")
        try:
            return [
                Series(
                    labels={str(k): str(v) for k, v in item["metric"].items()},
                    points=tuple((float(t), float(v)) for t, v in item["values"]),
                )
                for item in data.get("result") or []
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise self.error(f"range query {expr!r} returned a malformed matrix: {exc}") from exc

    def close(self) -> None:
        """Close the HTTP client we opened; idempotent."""
        self._http.close()

    def _post(self, path: str, expr: str, form: Mapping[str, str]) -> dict[str, Any]:
        where = redact_url(self.base_url)
        try:
            response = self._http.request("POST", path, call=Call.READ, data=dict(form))
        except HttpCallError as exc:
            if exc.response is None:
                raise self.error(f"Prometheus at {where} unreachable: {exc}") from exc
            response = exc.response
        try:
            body: Any = response.json()
        except ValueError:
            raise self.error(
                f"Prometheus at {where} answered HTTP {response.status_code} without JSON"
            ) from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", "no error given") if isinstance(body, dict) else body
            raise self.error(
                f"query {expr!r} failed at {where} (HTTP {response.status_code}): {error}"
            )
        data = body.get("data")
        return data if isinstance(data, dict) else {}


def _sample(item: Any) -> Sample:
    labels = {str(k): str(v) for k, v in item["metric"].items()}
    return Sample(labels=labels, value=float(item["value"][1]))
