"""Small HTTP helpers every part needs the same way.

- ``route_template``: the label for a request is its matched route template
  (``/predict/{item_id}``), never the raw path, so a scan of random URLs cannot
  grow a metric's series count.
- ``redact_url``, ``redact_headers``, ``redact_text``: the one place that decides
  what a secret looks like in a URL, a header or a line of text, so that logs,
  error messages, ``config show`` and the audit log never carry one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

UNMATCHED_ROUTE = "unmatched"
"""The one label value every request that matched no route shares."""

REDACTED = "***"
"""What stands where a secret was."""

SECRET_NAME_PARTS = (
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "signature",
    "sig",
    "auth",
    "credential",
    "session",
    "cookie",
)
"""A query parameter or header whose lower-cased name contains one of these is a secret
(``apikey``, ``api_key``, ``access_token``, ``X-Amz-Signature``, ``client_secret`` ...)."""

_SAFE_HEADERS = frozenset({"content-type", "accept", "user-agent", "content-length"})
_URL_IN_TEXT = re.compile(r"""[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'"<>]+""")
# ``Bearer <credential>`` as a header value prints it; a lower-case word ("Bearer token")
# is prose, not a credential, but "tok-s3cret" is one: only a whole run of lower-case
# letters (perhaps ending a sentence) counts as a word.
_CREDENTIAL_CHARS = r"[A-Za-z0-9._~+/=\-]"
_CREDENTIAL_IN_TEXT = re.compile(
    rf"\b(Bearer|Basic)\s+(?![a-z]+\.?(?!{_CREDENTIAL_CHARS})){_CREDENTIAL_CHARS}{{4,}}"
)


def route_template(scope: Mapping[str, Any]) -> str:
    """The matched route's template from an ASGI scope, or ``unmatched``.

    Example:
        >>> route_template({"path": "/users/42"})
        'unmatched'
    """
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    return _matching_route_path(scope) or UNMATCHED_ROUTE


def _matching_route_path(scope: Mapping[str, Any]) -> str | None:
    """The path of the router's route that fully matches, for routes that do not put
    themselves in the scope (FastAPI's ``/docs``, ``/openapi.json``; plain ``Route`` and
    ``Mount`` such as ``/metrics``)."""
    routes = getattr(scope.get("router"), "routes", None)
    if not routes or scope.get("type") != "http":
        return None
    from starlette.routing import Match

    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            path = getattr(route, "path", None)
            return path if isinstance(path, str) else None
    return None


def is_secret_name(name: str) -> bool:
    """True when a query parameter or header name says its value is a secret.

    Example:
        >>> [is_secret_name(n) for n in ("apikey", "X-Amz-Signature", "page", "Authorization")]
        [True, True, False, True]
    """
    lowered = name.lower()
    if lowered in _SAFE_HEADERS:
        return False
    return any(part in lowered for part in SECRET_NAME_PARTS)


def redact_url(url: str) -> str:
    """The URL with ``user:password`` and secret-named query parameters replaced by ``***``.

    Example:
        >>> redact_url("http://admin:hunter2@grafana:3000/api?apikey=abc&page=2")
        'http://***@grafana:3000/api?apikey=***&page=2'
        >>> redact_url("sqlite:////var/lib/inferwatch/state.db")
        'sqlite:////var/lib/inferwatch/state.db'
    """
    try:
        original = parts = urlsplit(url)
        port = parts.port
    except ValueError:  # not a URL we can take apart: show nothing of it
        return REDACTED
    if parts.username or parts.password:
        host = parts.hostname or ""
        if port:
            host = f"{host}:{port}"
        parts = parts._replace(netloc=f"{REDACTED}@{host}")
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        shown = [
            f"{quote(k, safe='[]')}={REDACTED if is_secret_name(k) else quote(v, safe='/:,')}"
            for k, v in pairs
        ]
        parts = parts._replace(query="&".join(shown))
    if parts.fragment and "=" in parts.fragment:  # OAuth implicit flow: #access_token=...
        parts = parts._replace(fragment=REDACTED)
    if parts == original:
        return url
    text = urlunsplit(parts)
    if not parts.netloc and url[len(parts.scheme) + 1 :].startswith("//"):
        # urlunsplit drops an empty authority: keep "sqlite:///path" as it was written
        text = f"{parts.scheme}://{text[len(parts.scheme) + 1 :]}"
    return text


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers with every secret-named value (``Authorization``, ``X-Api-Key``) masked.

    Example:
        >>> redact_headers({"Authorization": "Bearer abc", "Content-Type": "text/plain"})
        {'Authorization': '***', 'Content-Type': 'text/plain'}
    """
    return {name: REDACTED if is_secret_name(name) else value for name, value in headers.items()}


def redact_text(text: str) -> str:
    """Free text (a log line, an exception, an audit detail) with its secrets masked.

    Every URL in it goes through ``redact_url``; ``Bearer xyz``-style credentials lose
    their value.

    Example:
        >>> redact_text("POST https://hooks.example/x?apikey=abc failed; sent Bearer s3cr3t")
        'POST https://hooks.example/x?apikey=*** failed; sent Bearer ***'
    """
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    return _CREDENTIAL_IN_TEXT.sub(lambda m: f"{m.group(1)} {REDACTED}", text)


def redact_settings(data: Any, key: str = "") -> Any:
    """A settings dump (``model_dump(mode="json")``) safe to print.

    Every URL goes through ``redact_url``; every value of a ``*headers`` map is
    masked (a tenant or API-key header is as secret as ``Authorization``).
    ``SecretStr`` fields already dump as ``**********``.

    Example:
        >>> redact_settings({"url": "http://u:p@h/", "otlp_headers": {"x-team": "t0k"}})
        {'url': 'http://***@h/', 'otlp_headers': {'x-team': '***'}}
    """
    if isinstance(data, dict):
        if key.endswith("headers"):
            return {k: REDACTED for k in data}
        return {k: redact_settings(v, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [redact_settings(v, key) for v in data]
    if isinstance(data, str) and "://" in data:
        return redact_text(data)
    return data
