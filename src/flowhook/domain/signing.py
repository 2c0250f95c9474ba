"""Standard Webhooks signatures (https://www.standardwebhooks.com/) on outgoing deliveries.

A receiver proves a delivery came from us, unmodified and recently, by recomputing an
HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{body}"`` with the endpoint's
secret. Following the standard keeps receivers free to use any of its libraries instead of
code of ours. Pure functions: the caller passes the clock and the exact body bytes it sends.

A rotation does not cut receivers off: the :class:`Keyring` keeps the replaced secrets
valid for an overlap, and while they are valid every delivery carries one ``v1,``
signature per secret (the standard's space-separated list), so a receiver that knows
either the old or the new secret verifies it and can switch at its own pace.

An account may also sign asymmetrically (the standard's ``v1a``, ed25519): receivers then
verify with a public key (``whpk_…``) and hold no shared secret. The private key
(``whsk_…``) lives in the keyring, encrypted with it.
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
from typing import Any

from flowhook.errors import Code, ValidationFailed

__all__ = [
    "INVALID_SECRET",
    "MAX_PREVIOUS",
    "SECRET_PREFIX",
    "Keyring",
    "new_key_pair",
    "new_secret",
    "public_key_of",
    "sign",
    "signature_headers",
]

SECRET_PREFIX = "whsec_"
INVALID_SECRET = Code.INVALID_WEBHOOK_SECRET


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value, ``v1,<base64 HMAC-SHA256>``, for one message."""
    return _v1(secret, _signed(msg_id, timestamp, body))


def _signed(msg_id: str, timestamp: int, body: bytes) -> bytes:
    """What a signature covers: ``{webhook-id}.{webhook-timestamp}.{body}``."""
    return f"{msg_id}.{timestamp}.".encode() + body


def _v1(secret: str, signed: bytes) -> str:
    mac = _hmac(secret).copy()  # the keyed state copied: the key is not hashed again
    mac.update(signed)
    return "v1," + _b64(mac.digest())


def signature_headers(
    secret: str | Sequence[str],
    msg_id: str,
    body: bytes,
    now: float,
    *,
    private_key: str | None = None,
) -> dict[str, str]:
    """The three headers of a signed delivery; ``msg_id`` stays the same across retries.

    Several secrets (a rotation's overlap) give one space-separated ``v1,`` entry each; a
    ``private_key`` (``whsk_…``) adds a ``v1a,`` (ed25519) entry."""
    timestamp = math.floor(now)
    signed = _signed(msg_id, timestamp, body)  # once, whatever the number of signatures
    keys = (secret,) if isinstance(secret, str) else secret
    entries = [_v1(key, signed) for key in keys]
    if private_key is not None:
        entries.append(_v1a(private_key, signed))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(entries),
    }


PRIVATE_KEY_PREFIX, PUBLIC_KEY_PREFIX = "whsk_", "whpk_"


def new_key_pair() -> tuple[str, str]:
    """A fresh ed25519 key pair: (``whsk_`` + base64 of the 32-byte private key,
    ``whpk_`` + base64 of the 32-byte public key)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = PRIVATE_KEY_PREFIX + _b64(Ed25519PrivateKey.generate().private_bytes_raw())
    return private, public_key_of(private)


def public_key_of(private_key: str) -> str:
    public = _ed25519(private_key).public_key().public_bytes_raw()
    return PUBLIC_KEY_PREFIX + _b64(public)


def sign_ed25519(private_key: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1a,<base64 ed25519 signature>`` entry for one message."""
    return _v1a(private_key, _signed(msg_id, timestamp, body))


def _v1a(private_key: str, signed: bytes) -> str:
    return "v1a," + _b64(_ed25519(private_key).sign(signed))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@functools.lru_cache(maxsize=1024)  # loaded once per account, not per delivery
def _ed25519(private_key: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    raw = base64.b64decode(private_key.removeprefix(PRIVATE_KEY_PREFIX))
    return Ed25519PrivateKey.from_private_bytes(raw)


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
    private_key: str | None = None
    """The ed25519 key (``whsk_…``) of ``v1a`` signatures, when the account signs so."""

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
        previous = tuple((s, end) for s, end in kept if end > now)[:MAX_PREVIOUS]
        return Keyring(new, previous, self.private_key)

    def with_private_key(self, private_key: str | None) -> Keyring:
        return Keyring(self.current, self.previous, private_key)

    @property
    def public_key(self) -> str | None:
        return public_key_of(self.private_key) if self.private_key else None

    def pending(self, now: float) -> list[float]:
        """When each replaced secret still valid at ``now`` stops being valid."""
        return [until for _secret, until in self.previous if until > now]

    def encode(self) -> str:
        if not self.previous and self.private_key is None:
            return self.current
        data: dict[str, Any] = {
            "current": self.current,
            "previous": [list(p) for p in self.previous],
        }
        if self.private_key is not None:
            data["ed25519"] = self.private_key
        return json.dumps(data)

    @classmethod
    def decode(cls, text: str) -> Keyring:
        if not text.startswith("{"):
            return cls(text)
        data = json.loads(text)
        previous = tuple((str(secret), float(until)) for secret, until in data["previous"])
        return cls(str(data["current"]), previous, data.get("ed25519"))


@functools.lru_cache(maxsize=1024)  # one secret per account: keyed once, not per delivery
def _hmac(secret: str) -> hmac.HMAC:
    """HMAC-SHA256 keyed with the secret, nothing hashed yet: each signature copies it."""
    return hmac.new(_key(secret), digestmod=hashlib.sha256)


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
