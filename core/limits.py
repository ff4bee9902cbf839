"""Admission limits every service applies before it parses a body (``server.limits``).

Kept apart from the middleware (``inferwatch.admission``) so that loading
settings imports pydantic only.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LimitSettings(BaseModel):
    """What one request may cost a service before any part of it is parsed."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest body of a route that declares no limit of its own (the collector "
        "and baseline uploads declare theirs); bigger ones get 413, checked on Content-Length "
        "and while streaming (INFERWATCH_SERVER__LIMITS__MAX_BODY_BYTES).",
    )
    route_max_body_bytes: dict[str, int] = Field(
        default_factory=dict,
        description="Per-route body limits by route template, winning over the route's own, "
        'e.g. {"/actions/alertmanager": 262144} '
        "(INFERWATCH_SERVER__LIMITS__ROUTE_MAX_BODY_BYTES, JSON).",
    )
    max_inflight_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1024,
        description="Request-body bytes held at once across all requests; a body that would "
        "pass it gets 429 with Retry-After before it is parsed "
        "(INFERWATCH_SERVER__LIMITS__MAX_INFLIGHT_BYTES).",
    )
    max_concurrent_bodies: int = Field(
        default=4,
        ge=1,
        description="Requests with a body being parsed or written at once (a body still "
        "arriving holds none); one more gets 429 with Retry-After at once, so admitted ones "
        "keep a bounded latency "
        "(INFERWATCH_SERVER__LIMITS__MAX_CONCURRENT_BODIES).",
    )
    body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Time a request's whole body may take to arrive; slower gets 408, so a "
        "slow sender holds its bytes for a bounded time "
        "(INFERWATCH_SERVER__LIMITS__BODY_TIMEOUT_SECONDS).",
    )
    retry_after_seconds: int = Field(
        default=1,
        ge=1,
        le=3600,
        description="Retry-After sent with admission 429s "
        "(INFERWATCH_SERVER__LIMITS__RETRY_AFTER_SECONDS).",
    )
    max_json_depth: int = Field(
        default=64,
        ge=2,
        le=10_000,
        description="Deepest nesting of arrays and objects in a JSON body; deeper gets 400 "
        "(INFERWATCH_SERVER__LIMITS__MAX_JSON_DEPTH).",
    )
    max_json_elements: int = Field(
        default=2_000_000,
        ge=10,
        description="Most values (array items plus object members) in a JSON body; more gets "
        "413 (INFERWATCH_SERVER__LIMITS__MAX_JSON_ELEMENTS).",
    )
