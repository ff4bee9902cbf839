"""Two small HTTP helpers every part needs the same way.

- ``route_template``: the label for a request is its matched route template
  (``/predict/{item_id}``), never the raw path, so a scan of random URLs cannot
  grow a metric's series count.
- ``redact_url``: URLs in logs and error messages never carry ``user:password``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

UNMATCHED_ROUTE = "unmatched"
"""The one label value every request that matched no route shares."""


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


def redact_url(url: str) -> str:
    """The URL with any ``user:password`` replaced by ``***``.

    Example:
        >>> redact_url("http://admin:hunter2@grafana:3000/api")
        'http://***@grafana:3000/api'
    """
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        parts = parts._replace(netloc=f"***@{host}")
    return urlunsplit(parts)
