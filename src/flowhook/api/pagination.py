"""Cursor pagination shared by the list endpoints: newest first, the cursor is the
(created_at, id) of the last row of the page, opaque to clients."""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from flowhook.errors import BadRequest
from flowhook.store.executions import decode_cursor, encode_cursor

T = TypeVar("T")


def parse_cursor(cursor: str | None) -> tuple[float, str] | None:
    """The position a client's cursor names; 400 INVALID_CURSOR for one we did not give."""
    if not cursor:
        return None
    try:
        return decode_cursor(cursor)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise BadRequest("cursor is not one this API gave", code="INVALID_CURSOR") from None


def page_of(
    rows: Sequence[T], limit: int, position: Callable[[T], tuple[float, str]]
) -> tuple[list[T], str | None]:
    """Cut ``limit + 1`` fetched rows to a page and the cursor of the next one (if any)."""
    page = list(rows[:limit])
    if len(rows) <= limit:
        return page, None
    created_at, ident = position(page[-1])
    return page, encode_cursor(created_at, ident)


__all__ = ["page_of", "parse_cursor"]
