"""Admission before parsing: the ASGI middleware every service runs in front of its routes.

A request with a body is admitted, or refused, before any route, auth check or
parser sees a byte of it:

1. its route's byte limit (the route's own, declared with ``body_limit``, a
   ``server.limits.route_max_body_bytes`` override, else ``max_body_bytes``):
   413 on ``Content-Length`` and again while the body streams in;
2. room among ``max_inflight_bytes`` across all requests: none is 429 with
   ``Retry-After``; the bytes stay reserved until the answer has been sent (a body
   alone in flight is admitted up to its route's limit, so a route may allow more);
   the whole body must arrive within ``body_timeout_seconds`` (else 408);
3. a slot among ``max_concurrent_bodies`` (checked before the body is read, taken
   once it has arrived, so a slow sender never holds one): none free is 429 with
   ``Retry-After`` at once, so admitted requests keep a bounded latency instead of
   queueing behind a saturated CPU;
4. a JSON body's depth and value count (``inferwatch.jsonscan``): 400 / 413
   before a recursive parser could crash on it.

The admitted body is then replayed to the app from memory, in one chunk.
Requests without a body (probes, reads, ``/metrics``) pass untouched.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inferwatch.jsonscan import JsonLimitError, check_json
from inferwatch.limits import LimitSettings

JSON_CHECKED = "inferwatch_json_checked"
"""``request.state`` attribute set once a JSON body passed the depth and value limits."""
MAX_BODY_KEY = "x-max-body-bytes"
"""OpenAPI extension on an operation that declares its body limit (``body_limit``)."""
SETTING_KEY = "x-max-body-setting"
"""... and the setting it comes from, named in the 413."""
_SCAN_IN_THREAD = 256 * 1024
"""JSON bodies larger than this are scanned off the event loop."""


def body_limit(max_bytes: int, setting: str) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body limit is its own (shown in the OpenAPI).

    Example:
        >>> body_limit(2048, "collector.max_body_bytes")
        {'x-max-body-bytes': 2048, 'x-max-body-setting': 'collector.max_body_bytes'}
    """
    return {MAX_BODY_KEY: max_bytes, SETTING_KEY: setting}


def is_json(content_type: str | None) -> bool:
    """True for ``application/json`` and ``*+json`` (and no type at all, read as JSON)."""
    kind = (content_type or "application/json").split(";", 1)[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


class _RefusedError(Exception):
    """A request refused before parsing: its status, metric reason and message."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.reason, self.detail = status, reason, detail


class AdmissionMetrics:
    """Refusals and bytes held, on the service's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.refused = Counter(
            "inferwatch_http_admission_refused",
            "Requests refused before parsing, by reason (too_large, busy, inflight_bytes, "
            "slow_body, json_depth, json_elements, bad_length).",
            ["reason"],
            registry=registry,
        )
        self.inflight = Gauge(
            "inferwatch_http_inflight_body_bytes",
            "Request-body bytes held by admitted requests.",
            registry=registry,
        )
        self.active = Gauge(
            "inferwatch_http_active_bodies",
            "Requests with a body being parsed or written (holding an admission slot).",
            registry=registry,
        )


class AdmissionMiddleware:
    """Bound what a request with a body may cost before the app sees it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: LimitSettings,
        routes: Callable[[], Iterable[BaseRoute]],
        metrics: AdmissionMetrics,
    ) -> None:
        self.app = app
        self.limits = limits
        self._routes = routes
        self._metrics = metrics
        self.inflight_bytes = 0
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        declared = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if not chunked and declared in (None, "0"):
            await self.app(scope, receive, send)
            return
        ticket = _Ticket()
        try:
            try:
                body = await self._admit(scope, receive, headers, ticket)
            except _RefusedError as refusal:
                self._metrics.refused.labels(refusal.reason).inc()
                await _answer(send, refusal, self.limits.retry_after_seconds)
                return
            if body is not None:
                await self.app(scope, _replay(body, receive), send)
        finally:
            self._release(ticket)

    async def _admit(
        self, scope: Scope, receive: Receive, headers: Mapping[str, str], ticket: _Ticket
    ) -> bytes | None:
        """The admitted body (None when the client left), or ``_RefusedError``."""
        limit, setting = self._limit_for(scope)
        size = _declared_size(headers.get("content-length"))
        if size is not None and size > limit:
            raise _RefusedError(413, "too_large", _too_large(limit, setting))
        self._check_slot()  # saturated already: refuse before a byte is read
        if size is not None:
            self._reserve(size, ticket)
        try:
            async with asyncio.timeout(self.limits.body_timeout_seconds):
                body = await self._read(receive, (limit, setting), ticket, counted=size is None)
        except TimeoutError:
            raise _RefusedError(
                408,
                "slow_body",
                f"body not received within {self.limits.body_timeout_seconds} s "
                "(server.limits.body_timeout_seconds)",
            ) from None
        if body is None:
            return None
        self._check_slot()  # a slow sender holds bytes, never a parse slot
        self.active += 1
        ticket.taken = True
        self._metrics.active.set(self.active)
        encoding = headers.get("content-encoding", "identity").strip().lower()
        # A compressed body is bytes, not JSON text: scanning it would refuse a gzip
        # summary whose bytes happen to hold many '[' (its reader bounds what it inflates).
        if is_json(headers.get("content-type")) and encoding in {"", "identity"}:
            await self._check_json(body)
            scope.setdefault("state", {})[JSON_CHECKED] = True  # parsers need not scan again
        return body

    def _check_slot(self) -> None:
        if self.active >= self.limits.max_concurrent_bodies:
            raise _RefusedError(
                429, "busy", f"server is busy ({self.active} bodies being processed); retry later"
            )

    def _limit_for(self, scope: Scope) -> tuple[int, str]:
        """The route's body limit and the setting it comes from."""
        default = (self.limits.max_body_bytes, "server.limits.max_body_bytes")
        for route in self._routes():
            match, child = route.matches(scope)
            if match is Match.FULL:
                matched = child.get("route", route)  # an included router names its own route
                scope["route"] = matched  # labels refusals by template in the access log
                override = self.limits.route_max_body_bytes.get(getattr(matched, "path", ""))
                if override is not None:
                    return override, "server.limits.route_max_body_bytes"
                extra = getattr(matched, "openapi_extra", None) or {}
                own = extra.get(MAX_BODY_KEY)
                if own is not None:
                    return int(own), str(extra.get(SETTING_KEY, "its own limit"))
                return default
        return default

    def _reserve(self, size: int, ticket: _Ticket) -> None:
        alone = self.inflight_bytes == ticket.reserved  # one body alone is bounded by its route
        if not alone and self.inflight_bytes + size > self.limits.max_inflight_bytes:
            raise _RefusedError(
                429,
                "inflight_bytes",
                f"too many request bytes in flight ({self.inflight_bytes} of "
                f"{self.limits.max_inflight_bytes}); retry later",
            )
        self.inflight_bytes += size
        ticket.reserved += size
        self._metrics.inflight.set(self.inflight_bytes)

    def _release(self, ticket: _Ticket) -> None:
        self.inflight_bytes -= ticket.reserved
        self._metrics.inflight.set(self.inflight_bytes)
        if ticket.taken:
            self.active -= 1
            self._metrics.active.set(self.active)

    async def _read(
        self, receive: Receive, limit: tuple[int, str], ticket: _Ticket, *, counted: bool
    ) -> bytes | None:
        """The whole body, refused past ``limit``; reserves as it goes when no length was sent."""
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk: bytes = message.get("body", b"")
            total += len(chunk)
            if total > limit[0]:
                raise _RefusedError(413, "too_large", _too_large(*limit))
            if chunk:
                if counted:
                    self._reserve(len(chunk), ticket)
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _check_json(self, body: bytes) -> None:
        depth, elements = self.limits.max_json_depth, self.limits.max_json_elements
        try:
            if len(body) > _SCAN_IN_THREAD:
                await run_in_threadpool(check_json, body, max_depth=depth, max_elements=elements)
            else:
                check_json(body, max_depth=depth, max_elements=elements)
        except JsonLimitError as exc:
            if exc.too_deep:
                raise _RefusedError(
                    400, "json_depth", f"{exc} (server.limits.max_json_depth)"
                ) from exc
            raise _RefusedError(
                413, "json_elements", f"{exc} (server.limits.max_json_elements)"
            ) from exc


class _Ticket:
    """What one request holds: reserved bytes and whether it took a slot."""

    __slots__ = ("reserved", "taken")

    def __init__(self) -> None:
        self.reserved = 0
        self.taken = False


def _headers(scope: Scope) -> Mapping[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _declared_size(declared: str | None) -> int | None:
    if declared is None:
        return None
    if not declared.strip().isdigit():
        raise _RefusedError(400, "bad_length", f"Content-Length {declared[:20]!r} is not a number")
    return int(declared)


def _too_large(limit: int, setting: str) -> str:
    return f"body is over this route's limit of {limit} bytes ({setting})"


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as servers do

    return replay


async def _answer(send: Send, refusal: _RefusedError, retry_after: int) -> None:
    payload = json.dumps({"detail": refusal.detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if refusal.status == 429:
        headers.append((b"retry-after", str(retry_after).encode()))
    if refusal.status in (408, 413):
        headers.append((b"connection", b"close"))  # the rest of the body is not worth reading
    # a 429 keeps the connection: the server discards the unread body and the client,
    # still uploading, gets the answer instead of a reset
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
