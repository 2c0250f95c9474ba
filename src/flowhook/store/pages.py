"""Keyset pagination for the list repositories: newest first by (created_at, id), the
page after ``after`` = the (created_at, id) of the previous page's last row.

The condition is written ``created_at <= t AND (created_at < t OR id < i)`` rather than
only the OR: its first half bounds an index range on (…, created_at, id) on SQLite and
PostgreSQL alike, so a page deep in a million rows starts where the cursor points instead
of filtering every newer row on the way (docs/performance.md).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_


def newest_first(
    query: Select[Any],
    created_at: ColumnElement[Any],
    ident: ColumnElement[Any],
    *,
    after: tuple[float, str] | None,
    limit: int,
    since: float | None = None,
    until: float | None = None,
) -> Select[Any]:
    """The page of ``query`` after ``after``, created in [since, until)."""
    if since is not None:
        query = query.where(created_at >= since)
    if until is not None:
        query = query.where(created_at < until)
    if after:
        query = query.where(
            and_(created_at <= after[0], or_(created_at < after[0], ident < after[1]))
        )
    return query.order_by(created_at.desc(), ident.desc()).limit(limit)
