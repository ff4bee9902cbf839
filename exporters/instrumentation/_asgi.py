"""Pure ASGI middleware recording the OTel HTTP server metrics of a model server.

Pure ASGI rather than ``BaseHTTPMiddleware``: no extra task or body buffering per
request, so the cost is a few instrument records (measured in ``bench/instrumentation.py``).
The route is the matched template (``/predict/{item_id}``) that Starlette leaves in
``scope["route"]``; requests no route matched share one value, so a scan of random
paths cannot grow the series count.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from inferwatch.exporters.instrumentation import names
from inferwatch.exporters.instrumentation._metrics import InferenceInstruments
from inferwatch.httputil import route_template

if TYPE_CHECKING:  # ASGI's shapes only: the lean install has no starlette (any ASGI app works)
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

_MAX_CACHED_ATTRIBUTE_SETS = 4096
"""Attribute dicts are reused per (method, route, status, error); all bounded sets."""


class InstrumentationMiddleware:
    """Records ``http.server.*`` for every HTTP request passing through ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        instruments: InferenceInstruments,
        model: str,
        model_version: str,
        excluded_routes: Iterable[str] = ("/metrics",),
        record_body_size: bool = True,
    ) -> None:
        self.app = app
        self._ins = instruments
        self._base = {names.MODEL: model, names.MODEL_VERSION: model_version}
        self._excluded = frozenset(excluded_routes)
        self._record_body_size = record_body_size
        self._active_attrs: dict[tuple[str, str], dict[str, str]] = {}
        self._attrs: dict[tuple[str, str, int, str | None], dict[str, Any]] = {}

    def _active_for(self, key: tuple[str, str]) -> dict[str, str]:
        attrs = self._active_attrs.get(key)
        if attrs is None:
            method, scheme = key
            attrs = {**self._base, names.HTTP_METHOD: method, names.URL_SCHEME: scheme}
            self._active_attrs[key] = attrs
        return attrs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self._excluded:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method not in names.KNOWN_METHODS:
            method = names.OTHER_METHOD
        active_key = (method, scope.get("scheme", "http"))
        active = self._active_for(active_key)
        exchange = _Exchange(receive, send)
        start = time.perf_counter()
        self._ins.http_active.add(active_key, active, 1)
        try:
            if self._record_body_size:
                await self.app(scope, exchange.counting_receive, exchange.watching_send)
            else:
                await self.app(scope, receive, exchange.watching_send)
        except Exception as exc:
            exchange.error_type = type(exc).__qualname__
            raise
        finally:
            elapsed = time.perf_counter() - start
            self._ins.http_active.add(active_key, active, -1)
            self._record(scope, method, exchange, elapsed)

    def _record(self, scope: Scope, method: str, exchange: _Exchange, elapsed: float) -> None:
        route = route_template(scope)
        if route in self._excluded:
            return
        # no response started: the app raised and the server answers 500
        status = exchange.status or 500
        key = (method, route, status, exchange.error_type)
        attrs = self._attrs.get(key)
        if attrs is None:
            attrs = {
                **self._base,
                names.HTTP_METHOD: method,
                names.HTTP_ROUTE: route,
                names.HTTP_STATUS: status,
            }
            if exchange.error_type is not None or status >= 500:
                attrs[names.ERROR_TYPE] = exchange.error_type or str(status)
            if len(self._attrs) < _MAX_CACHED_ATTRIBUTE_SETS:
                self._attrs[key] = attrs
        self._ins.http_duration.record(elapsed, attrs)
        if self._record_body_size:
            self._ins.http_request_size.record(exchange.request_bytes, attrs)
            self._ins.http_response_size.record(exchange.response_bytes, attrs)


class _Exchange:
    """One request's state: status and body sizes seen passing through."""

    __slots__ = ("error_type", "receive", "request_bytes", "response_bytes", "send", "status")

    def __init__(self, receive: Receive, send: Send) -> None:
        self.receive = receive
        self.send = send
        self.status = 0
        self.request_bytes = 0
        self.response_bytes = 0
        self.error_type: str | None = None

    async def counting_receive(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.request":
            self.request_bytes += len(message.get("body", b""))
        return message

    async def watching_send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.response_bytes += len(message.get("body", b""))
        await self.send(message)
