"""Keyset pagination for the list repositories: newest first by (created_at, id), the
page after ``after`` = the (created_at, id) of the previous page's last row."""

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
) -> Select[Any]:
    if after:
        query = query.where(
            or_(created_at < after[0], and_(created_at == after[0], ident < after[1]))
        )
    return query.order_by(created_at.desc(), ident.desc()).limit(limit)
