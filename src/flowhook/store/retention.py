"""Repository functions for retention: removing what an account no longer keeps.

What is removed is finished: executions that COMPLETED or FAILED (their step logs live in
their row), deliveries that SUCCEEDED or FAILED, with their attempts, and operational
e-mails sent or given up. A PENDING delivery
and a running or waiting execution are never touched, however old; the status is checked
again by the DELETE itself, so a delivery replayed between the choice and the delete stays.
Each call removes at most ``limit`` rows of each kind, oldest first, along the
``(account_id, created_at)`` indexes: a short transaction that writers barely notice.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, delete, select, update

from flowhook.store.tables import accounts, deliveries, delivery_attempts, executions, ops_mails

_FINISHED_EXECUTIONS = ("COMPLETED", "FAILED")
_FINISHED_DELIVERIES = ("SUCCEEDED", "FAILED")


class Removed(NamedTuple):
    executions: int
    deliveries: int
    attempts: int

    def total(self) -> int:
        return self.executions + self.deliveries


def retention_days(conn: Connection) -> dict[str, int | None]:
    """Every account's retention in days (None: the server's default)."""
    rows = conn.execute(select(accounts.c.id, accounts.c.retention_days))
    return {row.id: row.retention_days for row in rows}


def set_retention_days(conn: Connection, account_id: str, days: int | None) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(retention_days=days))


def remove_before(conn: Connection, account_id: str, before: float, limit: int) -> Removed:
    """Remove up to ``limit`` finished executions and deliveries (with their attempts) of
    the account created before ``before``."""
    e, d = executions.c, deliveries.c
    old_executions = (
        conn.execute(
            select(e.uuid)
            .where(
                e.account_id == account_id,
                e.created_at < before,
                e.status.in_(_FINISHED_EXECUTIONS),
            )
            .order_by(e.created_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    removed_executions = 0
    if old_executions:
        removed_executions = conn.execute(
            delete(executions).where(e.uuid.in_(old_executions), e.status.in_(_FINISHED_EXECUTIONS))
        ).rowcount
    old_deliveries = (
        conn.execute(
            select(d.id)
            .where(
                d.account_id == account_id,
                d.created_at < before,
                d.status.in_(_FINISHED_DELIVERIES),
            )
            .order_by(d.created_at)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    gone: list[str] = []
    if old_deliveries:
        gone = list(
            conn.execute(
                delete(deliveries)
                .where(d.id.in_(old_deliveries), d.status.in_(_FINISHED_DELIVERIES))
                .returning(d.id)
            ).scalars()
        )
    m = ops_mails.c  # operational e-mails sent (or given up) long ago
    old_mails = select(m.id).where(
        m.account_id == account_id, m.created_at < before, m.status != "PENDING"
    )
    conn.execute(delete(ops_mails).where(m.id.in_(old_mails.limit(limit).scalar_subquery())))
    removed_attempts = 0
    if gone:
        removed_attempts = conn.execute(
            delete(delivery_attempts).where(delivery_attempts.c.delivery_id.in_(gone))
        ).rowcount
    return Removed(int(removed_executions or 0), len(gone), int(removed_attempts or 0))
