"""A thin client for Alertmanager's API v2, on httpx.

No maintained Alertmanager client exists on PyPI; this speaks the parts of
``/api/v2`` inferwatch needs: posting alerts (``postableAlerts``), reading them
back, and the status endpoint. Errors never carry the URL's credentials.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from inferwatch.http_client import Call, HttpCallError, HttpClient, RetryPolicy, auth_for


class AlertmanagerError(HttpCallError):
    """Alertmanager could not be reached or refused the request.

    ``status_code`` is the HTTP status when Alertmanager answered, None when it
    could not be reached; ``retryable`` says whether trying again can help
    (network errors, 429 and 5xx, never another 4xx: ``inferwatch.http_client``).
    """


@dataclass(frozen=True)
class PostableAlert:
    """One alert as Alertmanager's ``postableAlert`` schema defines it."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON body item for ``POST /api/v2/alerts``."""
        body: dict[str, Any] = {"labels": dict(self.labels), "annotations": dict(self.annotations)}
        if self.starts_at is not None:
            body["startsAt"] = _rfc3339(self.starts_at)
        if self.ends_at is not None:
            body["endsAt"] = _rfc3339(self.ends_at)
        if self.generator_url:
            body["generatorURL"] = self.generator_url
        return body


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class AlertmanagerClient:
    """Posts and reads alerts through ``/api/v2``; one instance per Alertmanager."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        bearer_token: str | None = None,
        retries: int = 0,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._http = HttpClient(
            self.base_url,
            timeout=timeout,
            auth=auth_for(bearer_token=bearer_token),
            headers=headers,
            transport=transport,
            # A Retry-After waits no longer than one request may take: the rules loop
            # re-sends at its next evaluation anyway.
            retry=RetryPolicy(
                attempts=retries + 1, backoff_seconds=backoff, max_retry_after_seconds=timeout
            ),
            sleep=sleep,
        )

    def post_alerts(self, alerts: Sequence[PostableAlert]) -> None:
        """``POST /api/v2/alerts``; raises ``AlertmanagerError`` on failure.

        Network errors, 429 and 5xx answers are retried ``retries`` times with
        exponential backoff (or the ``Retry-After`` asked for): Alertmanager merges a
        re-posted alert into the one it holds, so the post is an idempotent write.
        A 4xx (the alerts are malformed) is not retried.
        """
        body = [a.to_json() for a in alerts]
        self._request("POST", "/api/v2/alerts", Call.IDEMPOTENT_WRITE, json=body)

    def get_alerts(
        self,
        filters: Sequence[str] = (),
        *,
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
    ) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts`` with label matchers like ``'model="fraud"'``."""
        params: list[tuple[str, str]] = [("filter", f) for f in filters]
        params += [
            ("active", str(active).lower()),
            ("silenced", str(silenced).lower()),
            ("inhibited", str(inhibited).lower()),
        ]
        alerts: list[dict[str, Any]] = self._request(
            "GET", "/api/v2/alerts", Call.READ, params=params
        ).json()
        return alerts

    def status(self) -> dict[str, Any]:
        """``GET /api/v2/status``: version, cluster and config."""
        body: dict[str, Any] = self._request("GET", "/api/v2/status", Call.READ).json()
        return body

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, call: Call, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, call=call, **kwargs)
        except HttpCallError as exc:
            raise AlertmanagerError(
                str(exc),
                retryable=exc.retryable,
                status_code=exc.status_code,
                retry_after=exc.retry_after,
                response=exc.response,
            ) from exc
