"""What happened in the last hours, for the console's home and a webhook's chart: the rows
of one account (or one webhook) created since a time, read through the index that starts
with the account (or webhook) and the time, so the cost follows the window's rows, never
the table's (docs/performance.md). The use case (``usecases/activity.py``) adds them up.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, select

from flowhook.store.tables import deliveries, delivery_attempts, executions


class Finished(NamedTuple):
    """A row of the window: its status and how long it took (None while unfinished)."""

    status: str
    seconds: float | None


class Attempt(NamedTuple):
    at: float
    ok: bool
    duration_ms: float


def executions_since(conn: Connection, account_id: str, since: float) -> list[Finished]:
    c = executions.c
    rows = conn.execute(
        select(c.status, c.created_at, c.finished_at).where(
            c.account_id == account_id, c.created_at >= since
        )
    )
    return [Finished(r[0], None if r[2] is None else r[2] - r[1]) for r in rows]


def deliveries_since(conn: Connection, account_id: str, since: float) -> list[Finished]:
    c = deliveries.c
    rows = conn.execute(
        select(c.status, c.created_at, c.finished_at).where(
            c.account_id == account_id, c.created_at >= since
        )
    )
    return [Finished(r[0], None if r[2] is None else r[2] - r[1]) for r in rows]


def attempts_since(conn: Connection, webhook_id: str, since: float) -> list[Attempt]:
    """The webhook's attempts made since ``since``, oldest first (ok: a 2xx answer)."""
    c = delivery_attempts.c
    rows = conn.execute(
        select(c.at, c.error_reason, c.duration_ms)
        .where(c.webhook_id == webhook_id, c.at >= since)
        .order_by(c.at)
    )
    return [Attempt(r[0], r[1] is None, r[2]) for r in rows]
