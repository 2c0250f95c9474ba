"""A webhook's recent attempts, for its chart: read through ``(webhook_id, at)``, so the
cost follows the window's rows, never the table's (docs/performance.md). The minutes are
summed by the database (at most 1,440 rows come back); the response times are the newest
``sample`` attempts'. The use case (``usecases/activity.py``) puts them together.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, case, cast, func, select

from flowhook.store.tables import delivery_attempts


class MinuteCount(NamedTuple):
    minute: int  # epoch minutes: at // 60
    attempts: int
    succeeded: int  # answered 2xx (no error reason)


def _minute(conn: Connection) -> Any:
    at = delivery_attempts.c.at / 60
    if conn.dialect.name == "postgresql":
        return cast(func.floor(at), Integer)
    return cast(at, Integer)  # SQLite truncates, which is the floor of a positive time


def minutes_since(conn: Connection, webhook_id: str, since: float) -> list[MinuteCount]:
    """The webhook's attempts since ``since``, per minute, oldest first."""
    c = delivery_attempts.c
    minute = _minute(conn).label("minute")
    rows = conn.execute(
        select(
            minute,
            func.count(),
            func.sum(case((c.error_reason.is_(None), 1), else_=0)),
        )
        .where(c.webhook_id == webhook_id, c.at >= since)
        .group_by(minute)
        .order_by(minute)
    )
    return [MinuteCount(int(r[0]), int(r[1]), int(r[2] or 0)) for r in rows]


def durations_since(conn: Connection, webhook_id: str, since: float, sample: int) -> list[float]:
    """Response times (ms) of the webhook's newest ``sample`` attempts since ``since``."""
    c = delivery_attempts.c
    rows = conn.execute(
        select(c.duration_ms)
        .where(c.webhook_id == webhook_id, c.at >= since)
        .order_by(c.at.desc())
        .limit(sample)
    )
    return [float(r[0]) for r in rows]
