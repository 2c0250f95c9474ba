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
    """A random (version-4) UUID, as text, as ``str(uuid.uuid4())`` writes it: from a pool
    written from one ``os.urandom`` read per :data:`_BATCH` ids (a system call and a
    formatting per id cost twice as much as the whole draw from the pool)."""
    try:
        return _pool.pop()
    except IndexError:
        _fill()
        return _pool.pop()


_BATCH = 64
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
"""A random hex digit as the RFC 4122 variant's digit (its top two bits 10)."""
_pool: list[str] = []
"""Ids drawn from the system's random source, not yet handed out: each is handed out once
(``list.pop`` is atomic), and a forked child starts with none of its parent's."""


def _fill() -> None:
    raw = os.urandom(16 * _BATCH).hex()
    _pool.extend(
        f"{raw[i : i + 8]}-{raw[i + 8 : i + 12]}-4{raw[i + 13 : i + 16]}-"
        f"{_VARIANT[raw[i + 16]]}{raw[i + 17 : i + 20]}-{raw[i + 20 : i + 32]}"
        for i in range(0, 32 * _BATCH, 32)
    )


os.register_at_fork(after_in_child=_pool.clear)


def _text(raw: bytes, version: int) -> str:
    """16 bytes as the UUID of ``version`` (its high nibble) in the RFC 4122 variant."""
    digest = bytearray(raw)
    digest[6] = (digest[6] & 0x0F) | version
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
