"""Repository functions for an account's last day at a glance (the console's home page)
besides the roll-up's figures (``store/rollup.py``): the webhooks failing now, and whether
the account has any flow and webhook yet. Each reads a few rows of small tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from flowhook.store.tables import flows, webhooks

FAILING_SHOWN = 20


def failing_webhooks(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """Saved webhooks whose last attempt failed (FAILING until a success) or that are
    disabled: the endpoint health the delivery engine keeps (``webhooks/health.py``)."""
    w = webhooks.c
    rows = conn.execute(
        select(w.id, w.name, w.health, w.failing_since, w.disabled_at)
        .where(w.account_id == account_id, w.health != "HEALTHY")
        .order_by(func.coalesce(w.failing_since, w.disabled_at), w.id)
        .limit(FAILING_SHOWN)
    )
    return [
        {
            "webhook_id": r.id,
            "name": r.name,
            "health": r.health,
            "since": r.failing_since if r.failing_since is not None else r.disabled_at,
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
