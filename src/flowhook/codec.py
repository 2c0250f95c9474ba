"""JSON in and out of the process, fast: orjson where it gives the same answer as the
standard library, the standard library where orjson refuses (integers beyond 64 bits, text
with lone surrogates, JSON nested deeper than 1,024 levels, UTF-16 input).

Every hot path encodes JSON several times per flow (the state at each write, the webhook
body, the flow-complete payload, the trigger's answer) and parses it twice (the trigger's
body, the API's response): orjson does each ≈10× faster.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON; values JSON has no type for are written as their ``str``.

    The standard library's answer is ASCII (``\\uXXXX`` escapes): text with a lone surrogate
    has no UTF-8 form, and encoding it would raise (an error answer echoing such text
    would become a 500). Input refuses such text (:mod:`flowhook.text`); this keeps the
    encoder total anyway."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), default=str).encode()


def dumps_text(value: Any) -> str:
    return dumps(value).decode()


def loads(data: bytes | str) -> Any:
    """Parse JSON as ``json.loads`` does (same values, same errors: ``ValueError``)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
