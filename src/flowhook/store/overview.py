"""Repository functions for an account's last day at a glance (the console's home page).

Every query is bounded by the account and a start time, so it reads the range of the
``(account_id, created_at)`` indexes of executions and deliveries, never the whole
table; latencies are taken from a sample of the newest rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from flowhook.store.tables import deliveries, delivery_attempts, executions, flows, webhooks


def execution_counts(conn: Connection, account_id: str, since: float) -> dict[str, int]:
    c = executions.c
    rows = conn.execute(
        select(c.status, func.count())
        .where(c.account_id == account_id, c.created_at >= since)
        .group_by(c.status)
    )
    return {r[0]: int(r[1]) for r in rows}


def execution_durations(
    conn: Connection, account_id: str, since: float, sample: int
) -> list[float]:
    """Seconds from creation to the end, of the newest finished executions."""
    c = executions.c
    rows = conn.execute(
        select(c.finished_at - c.created_at)
        .where(c.account_id == account_id, c.created_at >= since, c.finished_at.is_not(None))
        .order_by(c.created_at.desc())
        .limit(sample)
    )
    return [float(r[0]) for r in rows]


def delivery_counts(conn: Connection, account_id: str, since: float) -> dict[str, int]:
    c = deliveries.c
    rows = conn.execute(
        select(c.status, func.count())
        .where(c.account_id == account_id, c.created_at >= since)
        .group_by(c.status)
    )
    return {r[0]: int(r[1]) for r in rows}


def attempt_latencies(conn: Connection, account_id: str, since: float, sample: int) -> list[float]:
    """Milliseconds per attempt, of the newest deliveries' attempts."""
    d, a = deliveries.c, delivery_attempts.c
    rows = conn.execute(
        select(a.duration_ms)
        .select_from(deliveries.join(delivery_attempts, a.delivery_id == d.id))
        .where(d.account_id == account_id, d.created_at >= since)
        .order_by(d.created_at.desc())
        .limit(sample)
    )
    return [float(r[0]) for r in rows]


def failing_webhooks(conn: Connection, account_id: str, since: float) -> list[dict[str, Any]]:
    """Saved webhooks whose deliveries since ``since`` are failing: dead (FAILED), or
    still retrying after a failed attempt; the most failures first."""
    d, w = deliveries.c, webhooks.c
    failing = or_(d.status == "FAILED", and_(d.status == "PENDING", d.last_error.is_not(None)))
    rows = conn.execute(
        select(
            d.webhook_id,
            w.name,
            func.count().label("failures"),
            func.max(d.updated_at).label("last_at"),
        )
        .select_from(deliveries.join(webhooks, w.id == d.webhook_id))
        .where(d.account_id == account_id, d.created_at >= since, failing)
        .group_by(d.webhook_id, w.name)
        .order_by(func.count().desc())
        .limit(20)
    )
    return [
        {
            "webhook_id": r.webhook_id,
            "name": r.name,
            "failures": int(r.failures),
            "last_at": r.last_at,
        }
        for r in rows
    ]


def counts_of_things(conn: Connection, account_id: str) -> tuple[int, int]:
    """(flows, webhooks) of the account: is it new?"""
    flow_count = conn.execute(
        select(func.count()).select_from(flows).where(flows.c.account_id == account_id)
    ).scalar_one()
    webhook_count = conn.execute(
        select(func.count()).select_from(webhooks).where(webhooks.c.account_id == account_id)
    ).scalar_one()
    return int(flow_count), int(webhook_count)
