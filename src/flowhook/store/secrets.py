"""Secrets at rest (webhook passwords, signing secrets) encrypted with Fernet.

The key comes from ``FLOWHOOK_SECRET_KEY``; without one, a key is generated once into
``data_dir/secret.key`` (fine for one machine; a cluster must set the variable).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from flowhook.errors import Code, FlowhookError
from flowhook.settings import Settings


def _key_from(settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.encode()
    path = Path(settings.data_dir) / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


class Cipher:
    def __init__(self, settings: Settings) -> None:
        try:
            self._fernet = Fernet(_key_from(settings))
        except ValueError as exc:
            raise FlowhookError(
                "FLOWHOOK_SECRET_KEY must be a Fernet key (32 url-safe base64 bytes)",
                code=Code.BAD_SECRET_KEY,
            ) from exc

    def encrypt(self, plain: str) -> bytes:
        return self._fernet.encrypt(plain.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken as exc:
            raise FlowhookError("a stored secret cannot be decrypted with this key") from exc


def hash_key(api_key: str) -> str:
    """API keys are stored as SHA-256: they are long random tokens, so no slow KDF is needed."""
    return hashlib.sha256(api_key.encode()).hexdigest()
