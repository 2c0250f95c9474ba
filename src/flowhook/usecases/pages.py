"""Cursor pagination for the list use cases: newest first, the cursor is the
(created_at, id) of the last row of a page, opaque to clients (``store/pages.py`` runs
the keyset query). No list counts its rows: a count over millions is the one query a
page must not run (docs/performance.md)."""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Generic, NamedTuple, TypeVar, overload

from pydantic import WithJsonSchema

from flowhook.errors import BadRequest, Code
from flowhook.store.executions import decode_cursor, encode_cursor

T = TypeVar("T")


class Page(NamedTuple, Generic[T]):
    """One page of a list, and the cursor of the next one (None: this is the last)."""

    items: list[T]
    next_cursor: str | None


def parse_cursor(cursor: str | None) -> tuple[float, str] | None:
    """The position a client's cursor names; INVALID_CURSOR for one we did not give."""
    if not cursor:
        return None
    try:
        return decode_cursor(cursor)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise BadRequest("cursor is not one this API gave", code=Code.INVALID_CURSOR) from None


def page_of(rows: Sequence[T], limit: int, position: Callable[[T], tuple[float, str]]) -> Page[T]:
    """Cut ``limit + 1`` fetched rows to a page and the cursor of the next one (if any)."""
    items = list(rows[:limit])
    if len(rows) <= limit:
        return Page(items, None)
    created_at, ident = position(items[-1])
    return Page(items, encode_cursor(created_at, ident))


Moment = Annotated[
    datetime,
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
            "description": "ISO 8601 (UTC if no zone) or epoch seconds",
        }
    ),
]
"""A point in time given by a caller: what pydantic reads into a ``datetime`` (ISO 8601 or
epoch seconds), and an OpenAPI schema that says both (so the document tells the truth)."""


@overload
def epoch(moment: datetime) -> float: ...
@overload
def epoch(moment: None) -> None: ...
@overload
def epoch(moment: datetime | None) -> float | None: ...
def epoch(moment: datetime | None) -> float | None:
    """A filter's time as the store keeps times (epoch seconds); a time without a zone is
    UTC. Pydantic reads both ISO 8601 and epoch numbers into the ``datetime``."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


__all__ = ["Page", "epoch", "page_of", "parse_cursor"]
