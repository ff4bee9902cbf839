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

from inferwatch.errors import InferwatchError
from inferwatch.httputil import redact_url


class AlertmanagerError(InferwatchError):
    """Alertmanager could not be reached or refused the request.

    ``status_code`` is the HTTP status when Alertmanager answered, None when it
    could not be reached; ``retryable`` says whether trying again can help
    (network errors and 5xx, never 4xx).
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code

    @property
    def retryable(self) -> bool:
        """True for network errors and 5xx answers."""
        return self.status_code is None or self.status_code >= 500


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
        retries: int = 0,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport, headers=headers
        )

    def post_alerts(self, alerts: Sequence[PostableAlert]) -> None:
        """``POST /api/v2/alerts``; raises ``AlertmanagerError`` on failure.

        Network errors and 5xx answers are retried ``retries`` times with
        exponential backoff; a 4xx (the alerts are malformed) is not.
        """
        body = [a.to_json() for a in alerts]
        attempt = 0
        while True:
            try:
                self._request("POST", "/api/v2/alerts", json=body)
                return
            except AlertmanagerError as exc:
                if not exc.retryable or attempt >= self.retries:
                    raise
                self._sleep(self.backoff * 2**attempt)
                attempt += 1

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
        alerts: list[dict[str, Any]] = self._request("GET", "/api/v2/alerts", params=params).json()
        return alerts

    def status(self) -> dict[str, Any]:
        """``GET /api/v2/status``: version, cluster and config."""
        body: dict[str, Any] = self._request("GET", "/api/v2/status").json()
        return body

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise AlertmanagerError(
                f"{method} {redact_url(self.base_url)}{path} failed: {type(exc).__name__}"
            ) from exc
        if response.status_code >= 400:
            raise AlertmanagerError(
                f"{method} {redact_url(self.base_url)}{path} answered {response.status_code}: "
                f"{response.text[:200]}",
                status_code=response.status_code,
            )
        return response
