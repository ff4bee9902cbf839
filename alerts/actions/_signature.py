"""Timestamped HMAC signatures of webhook bodies (``t=<unix>,v1=<hex>``, as Stripe signs).

The signed message is ``f"{t}.".encode() + body``: the timestamp cannot be changed
without breaking the signature, so a receiver that refuses timestamps outside a
tolerance window and any signature it has already seen inside that window cannot
be fed an old or a replayed delivery. Several ``v1=`` entries may appear (a sender
rotating its secret); one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from pydantic import SecretStr

SIGNATURE_HEADER = "X-Inferwatch-Signature"
SCHEME = "v1"


class SignatureError(Exception):
    """The signature header is missing, malformed, stale or does not match (never says which
    secret)."""


def _digest(secret: SecretStr, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


def sign(secret: SecretStr, body: bytes, timestamp: int) -> str:
    """The header value ``t=<timestamp>,v1=<hex HMAC-SHA256 of "t.body">``.

    Example:
        >>> sign(SecretStr("s"), b"{}", 1700000000)[:24]
        't=1700000000,v1=e9232c99'
    """
    return f"t={timestamp},{SCHEME}={_digest(secret, timestamp, body)}"


@dataclass(frozen=True)
class Verified:
    """A signature that matched: its timestamp and the matching digest (the replay key)."""

    timestamp: int
    digest: str


def verify(
    secret: SecretStr, header: str, body: bytes, *, now: float, tolerance_seconds: float
) -> Verified:
    """Check a header against the body; raise ``SignatureError`` saying what is wrong."""
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            candidates.append(value.lower())
    if timestamp is None or not candidates:
        raise SignatureError(f"signature must look like t=<unix seconds>,{SCHEME}=<hex>")
    if abs(now - timestamp) > tolerance_seconds:
        age = now - timestamp
        when = f"{age:.0f}s old" if age > 0 else f"{-age:.0f}s in the future"
        raise SignatureError(
            f"signature timestamp is {when} (tolerance {tolerance_seconds:g}s); "
            "check the sender's clock or sign afresh"
        )
    expected = _digest(secret, timestamp, body)
    for candidate in candidates:
        if hmac.compare_digest(candidate, expected):
            return Verified(timestamp, expected)
    raise SignatureError("signature does not match the body")
