"""The one way inferwatch calls another service over HTTP.

Every outbound client (Alertmanager, the Prometheus query API, CI and webhook
targets, the recorder's shipping and baseline fetch) builds its connection here,
so timeouts, credentials, redaction and retries are decided once:

- **Timeouts** always: no call waits forever.
- **Auth** through ``httpx.Auth`` (``auth_for``: a bearer token or basic auth), so a
  credential lives in the request only, never in a URL, a log line or an error.
- **Redaction**: an ``HttpCallError`` names the method and the URL through
  ``inferwatch.httputil.redact_url`` and quotes at most 200 characters of the answer
  through ``redact_text``.
- **One retry policy per kind of call** (``Call``), run by ``tenacity``:

  ==================  ==========================  ==============================
  kind                retried in-process on       never retried
  ==================  ==========================  ==============================
  READ                network errors, timeouts,   other 4xx
                      429, 5xx
  IDEMPOTENT_WRITE    the same as READ            other 4xx
  WRITE               errors before the request   a read timeout or a dropped
  (at most once)      was sent (connect), 429,    connection after sending; 4xx
                      5xx
  ==================  ==========================  ==============================

  A 429 or 5xx is an answer: the server says it did not do the work, so every
  kind may try again. A timeout after the request went out may mean the work was
  done; only a call that is harmless to replay (a read, or a write the receiver
  deduplicates by an idempotency key) is sent again. ``Retry-After`` (seconds or
  an HTTP date) is honoured up to ``RetryPolicy.max_retry_after_seconds``; without
  it the wait is exponential with jitter (``backoff_delay``).

Errors::

    InferwatchError
    └── HttpCallError   status_code (None: no answer), retryable, retry_after, response

Example:
    >>> with HttpClient("http://127.0.0.1:9", timeout=0.5) as http:
    ...     try:
    ...         http.request("GET", "/x", call=Call.READ)
    ...     except HttpCallError as exc:
    ...         (exc.status_code, exc.retryable)
    (None, True)
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, Self

import httpx

from inferwatch.errors import InferwatchError
from inferwatch.httputil import redact_text, redact_url

log = logging.getLogger("inferwatch.http")

IDEMPOTENCY_HEADER = "Idempotency-Key"


class Call(StrEnum):
    """What a call does, which decides what may be retried."""

    READ = "read"
    """Reads only (a GET, a PromQL query sent as POST): replaying is harmless."""
    IDEMPOTENT_WRITE = "idempotent_write"
    """Writes, but the receiver folds a replay into the first (an idempotency key,
    Alertmanager merging alerts by their labels)."""
    WRITE = "write"
    """Writes at most once: sent again only when it surely never arrived."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to try a call in this process.

    ``attempts=1`` only classifies a failure (``HttpCallError.retryable``,
    ``retry_after``) and leaves the waiting to the caller: the actions outbox retries
    durably across restarts, so it asks for one attempt.
    """

    attempts: int = 1
    backoff_seconds: float = 0.2
    max_backoff_seconds: float = 5.0
    max_retry_after_seconds: float = 30.0


ONCE = RetryPolicy()
"""One attempt: classify the failure, wait for nothing."""


class HttpCallError(InferwatchError):
    """An outbound call failed; the message never holds a credential.

    ``status_code`` is the answer's status, None when no answer came; ``retryable``
    says whether trying again can help for this kind of call; ``retry_after`` is the
    server's ``Retry-After`` in seconds, if it sent one; ``response`` is the answer
    (callers read an error body from it).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status_code: int | None = None,
        retry_after: float | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code
        self.retry_after = retry_after
        self.response = response


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request."""

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header (httpx calls this once per request)."""
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


def auth_for(
    *,
    bearer_token: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> httpx.Auth | None:
    """Bearer auth, basic auth, or None; a token wins over a user name.

    Example:
        >>> auth_for(bearer_token="t0k")
        BearerAuth(***)
        >>> auth_for() is None
        True
    """
    if bearer_token:
        return BearerAuth(bearer_token)
    if username is not None:
        return httpx.BasicAuth(username, password or "")
    return None


def retryable_status(status: int) -> bool:
    """429 and every 5xx: the server answered that it did not do the work (yet).

    Example:
        >>> [retryable_status(s) for s in (429, 500, 503, 400, 404, 409)]
        [True, True, True, False, False, False]
    """
    return status == 429 or status >= 500


def retryable_failure(call: Call, exc: httpx.HTTPError) -> bool:
    """Whether a call that got no answer may be sent again.

    A failure before the request left (connecting, waiting for a pooled
    connection) is safe for every kind; one after it left is safe only for a call
    that can be replayed.
    """
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    if not isinstance(exc, httpx.TransportError) or isinstance(exc, httpx.UnsupportedProtocol):
        return False  # a bad URL, too many redirects: the same again fails the same way
    return call is not Call.WRITE


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or an HTTP date); None if absent or odd.

    Example:
        >>> retry_after_seconds("3"), retry_after_seconds("soon")
        (3.0, None)
        >>> retry_after_seconds("Thu, 01 Jan 2026 00:00:10 GMT", now=1767225600.0)
        10.0
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    current = datetime.now(UTC).timestamp() if now is None else now
    return max(0.0, moment.timestamp() - current)


def backoff_delay(attempt: int, initial: float, ceiling: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: ``min(ceiling, initial * 2**(attempt-1))`` times 0.5..1.

    Example:
        >>> backoff_delay(3, 1.0, 300.0, random.Random(1)) <= 4.0
        True
    """
    return float(min(ceiling, initial * 2 ** (attempt - 1)) * (0.5 + rng.random() / 2))


def _shown(method: str, url: str) -> str:
    """The call as an error names it: the method and the URL, redacted, without its query."""
    return f"{method} {redact_url(url.split('?', 1)[0])}"


class HttpClient:
    """An ``httpx.Client`` with the house's timeouts, auth, redaction and retries.

    ``base_url`` is joined to relative paths; an absolute URL is used as given.
    ``client`` wraps an ``httpx.Client`` the caller owns (tests, shared pools);
    otherwise one is opened here and closed by ``close``.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        timeout: float,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        client: httpx.Client | None = None,
        retry: RetryPolicy = ONCE,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._owns_client = client is None
        self._client = client or httpx.Client(
            timeout=timeout, auth=auth, headers=headers, transport=transport
        )

    @property
    def is_closed(self) -> bool:
        """True once the connection pool is closed."""
        return self._client.is_closed

    def url(self, path: str) -> str:
        """``path`` joined to the base URL (an absolute URL stays as it is)."""
        if path.startswith(("http://", "https://")) or not self.base_url:
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        call: Call,
        retry: RetryPolicy | None = None,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send, retrying as ``call`` and ``retry`` allow; a 2xx/3xx answer or ``HttpCallError``.

        An ``idempotency_key`` travels in the ``Idempotency-Key`` header and makes a
        ``WRITE`` an ``IDEMPOTENT_WRITE``. ``kwargs`` go to ``httpx.Client.request``.
        """
        if idempotency_key is not None:
            headers = dict(kwargs.pop("headers", None) or {})
            headers[IDEMPOTENCY_HEADER] = idempotency_key
            kwargs["headers"] = headers
            if call is Call.WRITE:
                call = Call.IDEMPOTENT_WRITE
        policy = retry or self.retry
        url = self.url(path)
        if policy.attempts <= 1:
            return self._once(method, url, call, kwargs)
        return self._with_retries(method, url, call, policy, kwargs)

    def _with_retries(
        self, method: str, url: str, call: Call, policy: RetryPolicy, kwargs: dict[str, Any]
    ) -> httpx.Response:
        # Imported here: a client that never retries (the recorder's shipper, in model
        # pods) does not pay for tenacity's import.
        import tenacity

        def wait(state: tenacity.RetryCallState) -> float:
            failure = state.outcome.exception() if state.outcome else None
            after = failure.retry_after if isinstance(failure, HttpCallError) else None
            if after is not None:
                return min(after, policy.max_retry_after_seconds)
            return backoff_delay(
                state.attempt_number,
                policy.backoff_seconds,
                policy.max_backoff_seconds,
                self._rng,
            )

        def before_sleep(state: tenacity.RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            log.info("%s; attempt %d, retry in %.2fs", failure, state.attempt_number, delay)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.attempts),
            wait=wait,
            retry=tenacity.retry_if_exception(
                lambda exc: isinstance(exc, HttpCallError) and exc.retryable
            ),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        response: httpx.Response = retrying(self._once, method, url, call, kwargs)
        return response

    def _once(self, method: str, url: str, call: Call, kwargs: dict[str, Any]) -> httpx.Response:
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            shown = _shown(method, url)
            raise HttpCallError(
                f"{shown} timed out ({type(exc).__name__})",
                retryable=retryable_failure(call, exc),
            ) from exc
        except httpx.HTTPError as exc:
            shown = _shown(method, url)
            raise HttpCallError(
                f"{shown} failed: {type(exc).__name__}", retryable=retryable_failure(call, exc)
            ) from exc
        if response.status_code >= 400:
            shown = _shown(method, url)
            raise HttpCallError(
                f"{shown} answered {response.status_code}: {redact_text(response.text[:200])}",
                retryable=retryable_status(response.status_code),
                status_code=response.status_code,
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                response=response,
            )
        return response

    def close(self) -> None:
        """Close the pool we opened (a caller's client stays open); idempotent."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
