"""Repository functions for short URLs: create with a fresh code, resolve-and-count a
click in one statement, list and read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from flowhook.store.db import is_storable_id
from flowhook.store.pages import newest_first
from flowhook.store.tables import short_urls


@dataclass(frozen=True)
class ShortUrlRecord:
    code: str
    account_id: str
    long_url: str
    clicks: int
    last_click_at: float | None
    expires_at: float | None
    created_at: float

    @classmethod
    def from_row(cls, row: Any) -> ShortUrlRecord:
        return cls(
            code=row.code,
            account_id=row.account_id,
            long_url=row.long_url,
            clicks=row.clicks,
            last_click_at=row.last_click_at,
            expires_at=row.expires_at,
            created_at=row.created_at,
        )


def create(
    conn: Connection,
    account_id: str,
    long_url: str,
    new_code: Callable[[], str],
    now: float,
    expires_at: float | None = None,
) -> ShortUrlRecord:
    """Insert under a code not yet taken. The primary key is the real guarantee: a code
    taken by a concurrent writer fails this transaction and the group committer runs it
    again alone, drawing a fresh code."""
    code = new_code()
    while conn.execute(select(short_urls.c.code).where(short_urls.c.code == code)).first():
        code = new_code()
    conn.execute(
        short_urls.insert().values(
            code=code,
            account_id=account_id,
            long_url=long_url,
            clicks=0,
            last_click_at=None,
            expires_at=expires_at,
            created_at=now,
        )
    )
    return ShortUrlRecord(code, account_id, long_url, 0, None, expires_at, now)


def get(conn: Connection, code: str, account_id: str | None = None) -> ShortUrlRecord | None:
    if not is_storable_id(code, 16):
        return None
    query = select(short_urls).where(short_urls.c.code == code)
    if account_id is not None:
        query = query.where(short_urls.c.account_id == account_id)
    row = conn.execute(query).first()
    return ShortUrlRecord.from_row(row) if row else None


def click(conn: Connection, code: str, now: float, account_id: str | None = None) -> str | None:
    """Count one click on a live code and return where it leads (None: unknown/expired)."""
    if not is_storable_id(code, 16):
        return None
    c = short_urls.c
    conditions = [c.code == code, or_(c.expires_at.is_(None), c.expires_at > now)]
    if account_id is not None:
        conditions.append(c.account_id == account_id)
    row = conn.execute(
        update(short_urls)
        .where(and_(*conditions))
        .values(clicks=c.clicks + 1, last_click_at=now)
        .returning(c.long_url)
    ).first()
    return str(row[0]) if row else None


def list_for(
    conn: Connection, account_id: str, limit: int, after: tuple[float, str] | None = None
) -> list[ShortUrlRecord]:
    """Newest first; ``after`` is the (created_at, code) of the previous page's last row."""
    c = short_urls.c
    query = select(short_urls).where(c.account_id == account_id)
    query = newest_first(query, c.created_at, c.code, after=after, limit=limit)
    return [ShortUrlRecord.from_row(r) for r in conn.execute(query)]
