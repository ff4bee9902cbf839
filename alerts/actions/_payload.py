"""Alertmanager's webhook payload (version 4), as the receiver validates it.

Alertmanager 0.25 (the packaged one) sends ``version, groupKey, truncatedAlerts,
status, receiver, groupLabels, commonLabels, commonAnnotations, externalURL,
alerts``. Newer senders may add fields; unknown fields are kept, not refused.
``notificationReason`` / ``notification_reason`` is read when present (a sender
that marks plain repeats), and absent from 0.25.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inferwatch.errors import ClientError

SUPPORTED_VERSION = "4"


class WebhookAlert(BaseModel):
    """One alert in the notification."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(min_length=1)

    def dedup_key(self) -> str:
        """Fingerprint plus the start of this firing episode: equal across re-sends and HA peers.

        Example:
            >>> a = WebhookAlert.model_validate({"status": "firing", "labels": {},
            ...     "startsAt": "2026-01-01T00:00:00Z", "fingerprint": "ab12"})
            >>> a.dedup_key()[:12]
            'ab12@1767225'
        """
        return f"{self.fingerprint}@{self.starts_at.timestamp():.0f}"

    def idempotency_key(self) -> str:
        """A stable opaque key for targets (same for every delivery of the episode)."""
        return hashlib.sha256(self.dedup_key().encode()).hexdigest()[:32]


class WebhookMessage(BaseModel):
    """The whole notification Alertmanager posts."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    version: str
    group_key: str = Field(default="", alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[WebhookAlert]

    def notification_reason(self) -> str | None:
        """The sender's reason for this notification, when it says (not Alertmanager 0.25)."""
        extra = self.model_extra or {}
        for key in ("notificationReason", "notification_reason"):
            value = extra.get(key)
            if isinstance(value, str):
                return value
        return None


class PayloadError(ClientError):
    """The body is not an Alertmanager webhook notification we accept (HTTP 400/422)."""


def parse_message(body: bytes) -> WebhookMessage:
    """Validate a raw body; a wrong version is 400, a malformed body 422, each saying what."""
    try:
        message = WebhookMessage.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise PayloadError(
            f"not an Alertmanager webhook payload: {problems}", status_code=422
        ) from exc
    if message.version != SUPPORTED_VERSION:
        raise PayloadError(
            f"webhook payload version {message.version!r} is not supported; "
            f"expected {SUPPORTED_VERSION!r}",
            status_code=400,
        )
    return message
