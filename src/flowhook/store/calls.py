"""Repository functions for call legs and the log of what happened on each.

A leg's ``events`` is a JSON list of ``{"kind", "at", ...}`` in the order they were added:
``answer``/``busy``/``no_answer``/``failed`` (how ringing ended), ``dtmf`` (with ``key``),
``hangup`` (the remote party). Scripted events may lie in the future (``at`` > now): the
simulator writes a whole script at once and readers only see what is due. Appending locks
the row (``FOR UPDATE`` on PostgreSQL; SQLite has one writer), so two live events posted at
once are both kept.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from flowhook.domain.call import CallRow
from flowhook.engine.state import Status
from flowhook.store.db import is_storable_id
from flowhook.store.tables import calls, executions


def insert(conn: Connection, row: CallRow) -> None:
    conn.execute(
        calls.insert().values(
            id=row.id,
            account_id=row.account_id,
            execution_uuid=row.execution_uuid,
            adapter=row.adapter,
            incoming=row.incoming,
            cli=row.cli,
            dnis=row.dnis,
            status=row.status,
            script=row.script,
            events=row.events,
            created_at=row.created_at,
        )
    )


def get(
    conn: Connection, call_id: str, account_id: str | None = None, *, lock: bool = False
) -> CallRow | None:
    if not is_storable_id(call_id, 36):
        return None
    query = select(calls).where(calls.c.id == call_id)
    if account_id is not None:
        query = query.where(calls.c.account_id == account_id)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return CallRow.from_row(row) if row else None


def add_events(conn: Connection, call_id: str, events: list[dict[str, Any]]) -> CallRow | None:
    """Append events to a leg's log (the row locked while it is read and written)."""
    current = get(conn, call_id, lock=True)
    if current is None:
        return None
    merged = [*current.events, *events]
    conn.execute(update(calls).where(calls.c.id == call_id).values(events=merged))
    return get(conn, call_id)


def set_status(conn: Connection, call_id: str, **values: Any) -> None:
    """Update a leg's status and times (``status``, ``answered_at``, ``ended_at``, …)."""
    conn.execute(update(calls).where(calls.c.id == call_id).values(**values))


def wake_execution(conn: Connection, uuid: str, now: float) -> bool:
    """Make a waiting execution due now: something it waits for happened."""
    result = conn.execute(
        update(executions)
        .where(executions.c.uuid == uuid, executions.c.status == Status.WAITING.value)
        .values(due_at=now)
    )
    return bool(result.rowcount)


def for_execution(conn: Connection, uuid: str) -> list[CallRow]:
    rows = conn.execute(
        select(calls).where(calls.c.execution_uuid == uuid).order_by(calls.c.created_at)
    )
    return [CallRow.from_row(r) for r in rows]
