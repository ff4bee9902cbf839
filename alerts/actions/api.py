"""HTTP routes of the actions receiver: the Alertmanager webhook, the audit log, the outbox.

The webhook accepts what Alertmanager's ``http_config`` can send (a bearer token
or basic auth) and, for other senders, a timestamped HMAC-SHA256 signature in
``X-Inferwatch-Signature: t=<unix>,v1=<hex>`` (see ``actions._signature``): a
timestamp outside ``signature_tolerance_seconds`` or a signature already accepted
is refused. When none is configured it falls back to the service's
``server.api_token``; with no secret at all it is open (loopback only, as the
server settings enforce). The webhook checks its own credentials; the audit and
outbox listings need a read token like every other read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import SecretStr

from inferwatch.alerts.actions._audit import ActionsMetrics, read_audit
from inferwatch.alerts.actions._outbox import Outbox
from inferwatch.alerts.actions._payload import WebhookMessage, parse_message
from inferwatch.alerts.actions._policy import Policy
from inferwatch.alerts.actions._retention import first_use
from inferwatch.alerts.actions._signature import (
    SIGNATURE_HEADER,
    SignatureError,
    Verified,
    verify,
)
from inferwatch.alerts.actions._status import OutboxStatus
from inferwatch.alerts.actions.settings import ActionsSettings
from inferwatch.app import OWN_AUTH, WriteAuth
from inferwatch.settings import Settings

log = logging.getLogger("inferwatch.actions")
OUTBOX_STATUSES = tuple(status.value for status in OutboxStatus)


def _equal(given: str, expected: SecretStr) -> bool:
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


def _basic_matches(value: str, actions: ActionsSettings) -> bool:
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected_user = actions.basic_auth_username or ""
    expected_password = actions.basic_auth_password or SecretStr("")
    same_user = hmac.compare_digest(user.encode(), expected_user.encode())
    return same_user and _equal(password, expected_password)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail=detail,
        headers={"WWW-Authenticate": 'Bearer, Basic realm="inferwatch-actions"'},
    )


def check_auth(settings: Settings, headers: Any, body: bytes, *, now: float) -> Verified | None:
    """Pass when one configured method matches; 401 (never saying which secret) otherwise.

    Returns the verified signature when the HMAC method matched, so the caller can
    refuse its replay; None for bearer, basic or an open receiver.
    """
    actions: ActionsSettings = settings.alerts.actions
    bearer = actions.bearer_token
    no_receiver_auth = bearer is None and actions.basic_auth_username is None
    if no_receiver_auth and actions.hmac_secret is None:
        bearer = settings.server.api_token
    if bearer is None and actions.basic_auth_username is None and actions.hmac_secret is None:
        return None
    authorization = str(headers.get("authorization", ""))
    scheme, _, value = authorization.partition(" ")
    if bearer is not None and scheme.lower() == "bearer" and _equal(value.strip(), bearer):
        return None
    user_ok = actions.basic_auth_username is not None and actions.basic_auth_password is not None
    if user_ok and scheme.lower() == "basic" and _basic_matches(value, actions):
        return None
    signature = headers.get(SIGNATURE_HEADER.lower())
    if actions.hmac_secret is not None and signature:
        try:
            return verify(
                actions.hmac_secret,
                str(signature),
                body,
                now=now,
                tolerance_seconds=actions.signature_tolerance_seconds,
            )
        except SignatureError as exc:
            raise _unauthorized(f"{SIGNATURE_HEADER} refused: {exc}") from None
    raise _unauthorized("missing or wrong credentials for the actions receiver")


def webhook_request_body() -> dict[str, Any]:
    """The OpenAPI request body of the webhook (the route reads raw bytes, for HMAC)."""
    schema = WebhookMessage.model_json_schema(by_alias=True)
    defs = schema.pop("$defs", {})
    schema["properties"]["alerts"]["items"] = defs["WebhookAlert"]
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def build_router(
    settings: Settings,
    outbox: Outbox,
    policy: Policy,
    metrics: ActionsMetrics,
    wake: Callable[[], None],
    *,
    context_for: Callable[[str], Mapping[str, Any]] | None = None,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    """The ``/actions`` routes."""
    router = APIRouter(prefix="/actions", tags=["actions"])

    @router.post(
        "/alertmanager",
        openapi_extra={"requestBody": webhook_request_body(), **OWN_AUTH},
        summary="Alertmanager webhook (payload version 4): decide, persist, answer.",
        responses={
            400: {"description": "Unsupported payload version."},
            401: {"description": "Missing or wrong credentials, stale or replayed signature."},
            422: {"description": "Not an Alertmanager webhook payload."},
        },
    )
    async def alertmanager_webhook(request: Request) -> dict[str, Any]:
        signature = settings.alerts.actions.hmac_secret is not None and (
            SIGNATURE_HEADER.lower() in request.headers
        )
        if signature:  # the HMAC covers the body: read it first
            body = await request.body()
            signed = check_auth(settings, request.headers, body, now=clock())
        else:  # bearer, basic or nothing: refuse before reading a byte of the body
            signed = check_auth(settings, request.headers, b"", now=clock())
            body = await request.body()
        if signed is not None and not await asyncio.to_thread(
            first_use, outbox.storage, signed, clock()
        ):
            raise _unauthorized(
                f"{SIGNATURE_HEADER} refused: this signature was already used (a replay); "
                "sign each delivery afresh"
            )
        message = parse_message(body)
        if message.truncated_alerts:
            log.warning(
                "Alertmanager truncated %d alerts of group %s (max_alerts); they were not seen",
                message.truncated_alerts,
                message.group_key,
            )
        decisions = await asyncio.to_thread(
            outbox.accept,
            message,
            policy,
            dry_run=settings.alerts.actions.dry_run,
            now=clock(),
            context_for=context_for,
        )
        metrics.count(decisions)
        if any(d.outcome == "queued" for d in decisions):
            wake()
        return {
            "accepted": len(decisions),
            "decisions": [
                {
                    "dedup_key": d.dedup_key,
                    "model": d.model,
                    "action": d.action,
                    "outcome": d.outcome,
                    "detail": d.detail,
                }
                for d in decisions
            ],
        }

    @router.get("/audit", summary="Decisions about alerts, newest first.")
    def audit(
        model: str | None = None,
        outcome: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        entries = read_audit(outbox.storage, model=model, outcome=outcome, limit=limit)
        return {"entries": [e.to_json() for e in entries]}

    @router.get("/outbox", summary="Accepted actions and their delivery state, newest first.")
    def outbox_entries(
        status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        if status is not None and status not in OUTBOX_STATUSES:
            raise HTTPException(
                status_code=400,
                detail=f"status must be one of {', '.join(OUTBOX_STATUSES)}; got {status!r}",
            )
        return {"entries": [e.to_json() for e in outbox.entries(status, limit)]}

    @router.post(
        "/outbox/{entry_id}/retry",
        summary="Re-queue a failed action with fresh attempts.",
        responses={404: {"description": "No such entry."}, 409: {"description": "Not failed."}},
    )
    async def retry_entry(entry_id: int, _: WriteAuth) -> dict[str, Any]:
        entry = await asyncio.to_thread(outbox.requeue, entry_id)
        wake()
        return entry.to_json()

    return router
