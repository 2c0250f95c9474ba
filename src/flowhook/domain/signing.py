"""Standard Webhooks signatures (https://www.standardwebhooks.com/) on outgoing deliveries.

A receiver proves a delivery came from us, unmodified and recently, by recomputing an
HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{body}"`` with the endpoint's
secret. Following the standard keeps receivers free to use any of its libraries instead of
code of ours. Pure functions: the caller passes the clock and the exact body bytes it sends.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import math
import secrets

from flowhook.errors import Code, ValidationFailed

__all__ = ["INVALID_SECRET", "SECRET_PREFIX", "new_secret", "sign", "signature_headers"]

SECRET_PREFIX = "whsec_"
INVALID_SECRET = Code.INVALID_WEBHOOK_SECRET


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value, ``v1,<base64 HMAC-SHA256>``, for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(secret: str, msg_id: str, body: bytes, now: float) -> dict[str, str]:
    """The three headers of a signed delivery; ``msg_id`` stays the same across retries."""
    timestamp = math.floor(now)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


@functools.lru_cache(maxsize=1024)  # one secret per account: decoded once, not per delivery
def _key(secret: str) -> bytes:
    """The HMAC key: the base64 after ``whsec_`` (unpadded base64 accepted, as the standard's
    libraries do)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValidationFailed(
            "webhook secret is not valid base64 after 'whsec_'", code=INVALID_SECRET
        ) from None
    if not key:
        raise ValidationFailed("webhook secret is empty", code=INVALID_SECRET)
    return key
