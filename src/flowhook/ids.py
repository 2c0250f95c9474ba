"""Ids as text: stable ones (the same name always gives the same id: a replayed step or a
re-sent delivery keeps its id) and random ones (a new execution, its request).

Both are RFC 4122 UUIDs written as ``str(uuid.UUID(...))`` writes them, built without the
``UUID`` object: its constructor validates in Python, and ``uuid5`` / ``uuid4`` + ``str``
cost ≈ 1.7 % of the process's CPU at full speed (the flow-complete hook derives a stable id
per finished execution; the trigger draws two random ones per execution).
"""

from __future__ import annotations

import hashlib
import os
import uuid


def stable_id(namespace: uuid.UUID, name: str) -> str:
    """The RFC 4122 version-5 UUID of ``name`` in ``namespace``, as text."""
    return _text(hashlib.sha1(namespace.bytes + name.encode()).digest()[:16], 0x50)


def random_id() -> str:
    """A random (version-4) UUID, as text: ``str(uuid.uuid4())``, at half the cost."""
    return _text(os.urandom(16), 0x40)


def _text(raw: bytes, version: int) -> str:
    """16 bytes as the UUID of ``version`` (its high nibble) in the RFC 4122 variant."""
    digest = bytearray(raw)
    digest[6] = (digest[6] & 0x0F) | version
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
