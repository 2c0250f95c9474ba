"""Text both databases can store: no NUL character (PostgreSQL's text and JSON types refuse
it, SQLite keeps it) and no lone UTF-16 surrogate (not Unicode text at all: it cannot be
written as UTF-8, so neither database nor any JSON answer can hold it).

One rule, written once and applied wherever text enters: the API's requests
(:mod:`flowhook.api.text`), flow documents and caller variables
(:func:`flowhook.engine.state.json_problem`) and mapped webhook responses
(:mod:`flowhook.webhooks.mapping`). Refused input gets the same 422 on both engines instead
of a ``psycopg.DataError`` (a 500) on PostgreSQL only.
"""

from __future__ import annotations

import re
from typing import Any

from flowhook.errors import InvalidText, NulNotAllowed

_SURROGATE = re.compile("[\ud800-\udfff]")
# In a ``str`` a valid pair is one code point above U+FFFF: any surrogate left is lone.
_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")
"""A JSON escape that may decode to NUL or a surrogate: the cheap test before parsing."""


def problem(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    if _SURROGATE.search(text):
        return "contains a lone UTF-16 surrogate (not Unicode text)"
    return None


def refusal(where: str, reason: str) -> NulNotAllowed | InvalidText:
    """The 422 for ``problem``'s ``reason`` at ``where`` (a JSON path or a request part)."""
    details = [{"path": where, "message": reason}]
    if "NUL" in reason:
        return NulNotAllowed(f"{where} {reason}", details=details)
    return InvalidText(f"{where} {reason}", details=details)


def check(text: str, where: str) -> None:
    reason = problem(text)
    if reason is not None:
        raise refusal(where, reason)


def may_hold_bad_text(raw: bytes) -> bool:
    """Whether a JSON body has an escape that may decode to NUL or a surrogate (escaped
    emoji are pairs and pass :func:`check_value` after this says maybe)."""
    return _ESCAPE.search(raw) is not None


def value_problem(value: Any, path: str = "$") -> tuple[str, str] | None:
    """The first key or string in a parsed JSON value that cannot be stored, as (path,
    reason); None when all can. Iterative: a deep value cannot overflow the stack."""
    todo: list[tuple[Any, str]] = [(value, path)]
    while todo:
        node, where = todo.pop()
        if isinstance(node, str):
            reason = problem(node)
            if reason is not None:
                return where, reason
        elif isinstance(node, dict):
            for key, child in node.items():
                if isinstance(key, str):
                    reason = problem(key)
                    if reason is not None:  # the key is not in the path: it cannot be shown
                        return where, f"a key {reason}"
                todo.append((child, f"{where}.{key}"))
        elif isinstance(node, list):
            todo.extend((child, f"{where}[{i}]") for i, child in enumerate(node))
    return None


def check_value(value: Any, path: str = "$") -> None:
    found = value_problem(value, path)
    if found is not None:
        raise refusal(*found)
