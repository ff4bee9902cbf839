"""Who may read: every route needs a token when one is configured, except the open paths.

Writes are guarded per route by ``WriteAuth`` (the write token, ``server.api_token``).
This ASGI middleware guards everything else before any routing or body read: with
a token configured, a request outside ``server.open_paths`` (``/metrics``,
``/healthz``, ``/readyz`` by default) needs ``Authorization: Bearer <token>`` with
the read token or the write token (a writer may read). Routes that check their own
credentials (the Alertmanager webhook, whose sender holds a different secret) are
named by ``own_auth_paths`` (asked once, when first needed, after every part's
routes exist) and skip this check, never their own. ``ReadPolicy`` is the rule alone,
which the GPU exporter's framework-free server (``inferwatch.exporters.gpu.server``) applies too.
"""

from __future__ import annotations

import fnmatch
import hmac
import json
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from inferwatch.settings import ServerSettings

if TYPE_CHECKING:  # ASGI's shapes only: this module also serves the framework-free exporter
    from starlette.types import ASGIApp, Receive, Scope, Send

_GLOB = re.compile(r"[*?\[]")
UNAUTHORIZED_BODY = json.dumps({"detail": "missing or wrong bearer token"}).encode()
"""What a refused request is answered (401, ``WWW-Authenticate: Bearer``)."""


def bearer_of(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The credential of an ``Authorization: Bearer ...`` header, or None."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return credential.strip()
    return None


class ReadPolicy:
    """Who may read: an open path (exact, or a glob where ``*`` spans ``/`` too), or a
    request carrying the read or the write token; everyone when no token is configured."""

    def __init__(self, server: ServerSettings) -> None:
        self.enforced = server.api_token is not None
        # what every request compares against, computed once (the check is per request)
        self._tokens = [
            t.get_secret_value().encode() for t in (server.api_token, server.read_token) if t
        ]
        self._open_exact = frozenset(p for p in server.open_paths if not _GLOB.search(p))
        self._open_globs = [p for p in server.open_paths if _GLOB.search(p)]

    def allows(self, path: str, given: str | None) -> bool:
        """True when ``path`` may be read with the bearer credential ``given``."""
        if not self.enforced:
            return True
        if path in self._open_exact or any(fnmatch.fnmatchcase(path, g) for g in self._open_globs):
            return True
        credential = (given or "").encode()
        matched = False
        for token in self._tokens:  # no early exit: the time does not say which token matched
            matched |= hmac.compare_digest(credential, token)
        return matched


class ReadAccessMiddleware:
    """Answers 401 to a request without a valid token, outside the open paths."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        server: ServerSettings,
        own_auth_paths: Callable[[], Iterable[str]] = tuple,
    ) -> None:
        self.app = app
        self.server = server
        self.policy = ReadPolicy(server)
        self._own_auth_paths = own_auth_paths
        self._own: frozenset[str] | None = None

    def _allowed(self, path: str, given: str | None) -> bool:
        """The policy allows it, or the route checks its own credentials."""
        return self.policy.allows(path, given) or self._checks_own_auth(path)

    def _checks_own_auth(self, path: str) -> bool:
        if self._own is None:
            self._own = frozenset(self._own_auth_paths())
        return path in self._own

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.policy.enforced:
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        if self._allowed(path, bearer_of(scope.get("headers") or [])):
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(UNAUTHORIZED_BODY)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": UNAUTHORIZED_BODY})
