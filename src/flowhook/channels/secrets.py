"""Channel passwords at rest: the Kannel gateway's and the SMPP bind's, the same rule as
webhook secrets (domain/credentials.py). The account's stored channel settings keep
:data:`REDACTED` in their place and the values encrypted apart, under :data:`SEALED`; the
API shows ``***``, and ``***`` sent back in an update keeps the stored value. Only the
channel layer, handing settings to an adapter, puts the real values back.

Pure but for the cipher it is lent (``store.secrets.Cipher``: Fernet).
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from flowhook.domain.credentials import REDACTED, UnknownSecret

SEALED = "sealed"
"""The key of the encrypted values in the stored settings."""

SECRET_FIELDS: tuple[tuple[str, str], ...] = (("kannel", "password"), ("smpp", "password"))
"""(section, field) of every channel setting that is a credential."""


class Sealer(Protocol):
    def encrypt(self, plain: str) -> bytes: ...

    def decrypt(self, token: bytes) -> str: ...


def seal(values: dict[str, Any], stored: dict[str, Any] | None, cipher: Sealer) -> dict[str, Any]:
    """The settings to store: each password replaced by :data:`REDACTED` and kept encrypted
    under :data:`SEALED`. A :data:`REDACTED` given takes the value stored before
    (:class:`UnknownSecret` when there is none)."""
    old = secret_values(stored or {}, cipher)
    public = {k: v for k, v in values.items() if k != SEALED}
    found: dict[str, str] = {}
    for section, name in SECRET_FIELDS:
        part = public.get(section)
        if not isinstance(part, dict) or not isinstance(part.get(name), str):
            continue
        value = part[name]
        if value == REDACTED:
            if section not in old:
                raise UnknownSecret(f"channels.{section}.{name}")
            value = old[section]
        found[section] = value
        public[section] = {**part, name: REDACTED}
    if found:
        public[SEALED] = cipher.encrypt(json.dumps(found)).decode()
    return public


def secret_values(stored: dict[str, Any], cipher: Sealer) -> dict[str, str]:
    """The stored passwords by section; one saved in plain before passwords were sealed
    counts too (it is sealed at the account's next update)."""
    found: dict[str, str] = {}
    token = stored.get(SEALED)
    if isinstance(token, str) and token:
        found.update(json.loads(cipher.decrypt(token.encode())))
    for section, name in SECRET_FIELDS:
        part = stored.get(section)
        if section in found or not isinstance(part, dict):
            continue
        value = part.get(name)
        if isinstance(value, str) and value != REDACTED:
            found[section] = value
    return found


def unseal(stored: dict[str, Any], cipher: Sealer) -> dict[str, Any]:
    """The settings an adapter is given: the real passwords back in place."""
    values = secret_values(stored, cipher)
    real = {k: v for k, v in stored.items() if k != SEALED}
    for section, name in SECRET_FIELDS:
        part = real.get(section)
        if isinstance(part, dict) and section in values:
            real[section] = {**part, name: values[section]}
    return real


def public(stored: dict[str, Any]) -> dict[str, Any]:
    """The settings as shown: every password :data:`REDACTED`, nothing encrypted."""
    shown = {k: v for k, v in stored.items() if k != SEALED}
    for section, name in SECRET_FIELDS:
        part = shown.get(section)
        if isinstance(part, dict) and part.get(name) is not None:
            shown[section] = {**part, name: REDACTED}
    return shown
