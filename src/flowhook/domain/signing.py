"""Standard Webhooks signatures (https://www.standardwebhooks.com/) on outgoing deliveries.

A receiver proves a delivery came from us, unmodified and recently, by recomputing an
HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{body}"`` with the endpoint's
secret. Following the standard keeps receivers free to use any of its libraries instead of
code of ours. Pure functions: the caller passes the clock and the exact body bytes it sends.

A rotation does not cut receivers off: the :class:`Keyring` keeps the replaced secrets
valid for an overlap, and while they are valid every delivery carries one ``v1,``
signature per secret (the standard's space-separated list), so a receiver that knows
either the old or the new secret verifies it and can switch at its own pace.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from flowhook.errors import ValidationFailed

__all__ = [
    "INVALID_SECRET",
    "MAX_PREVIOUS",
    "SECRET_PREFIX",
    "Keyring",
    "new_secret",
    "sign",
    "signature_headers",
]

SECRET_PREFIX = "whsec_"
INVALID_SECRET = "INVALID_WEBHOOK_SECRET"


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value, ``v1,<base64 HMAC-SHA256>``, for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_headers(
    secret: str | Sequence[str], msg_id: str, body: bytes, now: float
) -> dict[str, str]:
    """The three headers of a signed delivery; ``msg_id`` stays the same across retries.

    Several secrets (a rotation's overlap) give one space-separated ``v1,`` entry each."""
    timestamp = math.floor(now)
    keys = (secret,) if isinstance(secret, str) else secret
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(key, msg_id, timestamp, body) for key in keys),
    }


MAX_PREVIOUS = 5
"""Replaced secrets kept in their overlap at most (rotating again drops the oldest)."""


@dataclass(frozen=True)
class Keyring:
    """An account's signing secrets: the current one, and those a rotation replaced, each
    valid until its own time (Unix seconds).

    Stored encrypted as one value (:meth:`encode`): a keyring without previous secrets is
    the bare secret, as every account stored it before rotations had an overlap."""

    current: str
    previous: tuple[tuple[str, float], ...] = ()

    def valid_at(self, now: float) -> list[str]:
        """The secrets a delivery signed at ``now`` carries a signature of, current first."""
        return [self.current, *(secret for secret, until in self.previous if until > now)]

    def rotated(self, new: str, now: float, overlap_s: float) -> Keyring:
        """``new`` becomes current; the replaced one stays valid for ``overlap_s``. No older
        secret stays valid longer than that either: a rotation with no overlap (a leaked
        secret) leaves only the new one."""
        until = now + overlap_s
        kept = [(self.current, until)]
        kept += [(secret, min(end, until)) for secret, end in self.previous]
        return Keyring(new, tuple((s, end) for s, end in kept if end > now)[:MAX_PREVIOUS])

    def pending(self, now: float) -> list[float]:
        """When each replaced secret still valid at ``now`` stops being valid."""
        return [until for _secret, until in self.previous if until > now]

    def encode(self) -> str:
        if not self.previous:
            return self.current
        return json.dumps({"current": self.current, "previous": [list(p) for p in self.previous]})

    @classmethod
    def decode(cls, text: str) -> Keyring:
        if not text.startswith("{"):
            return cls(text)
        data = json.loads(text)
        previous = tuple((str(secret), float(until)) for secret, until in data["previous"])
        return cls(str(data["current"]), previous)


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
