"""Repository functions for a saved webhook's health (``webhooks/health.py`` decides when).

Every transition is one conditional UPDATE whose row count says whether *this* call made
it: of many workers recording failures of one webhook at once, exactly one turns it
FAILING and exactly one disables it, so each operational event is emitted once.

A disabled webhook's pending deliveries are **parked**: still PENDING, kept with their
attempts, but with no due time (``due_at`` NULL), so no claim takes them and the circuit
breaker's "nothing waits forever" rule (which moves due rows only) never dead-letters them.
Enabling the webhook makes them due again, each with a fresh retry schedule.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, update

from flowhook.errors import Code
from flowhook.store.tables import accounts, deliveries, webhooks

HEALTHY, FAILING, DISABLED = "HEALTHY", "FAILING", "DISABLED"
WEBHOOK_DISABLED = Code.WEBHOOK_DISABLED.value
"""``last_error`` of a delivery parked because its webhook is disabled."""
GONE, FAILING_TOO_LONG = "GONE", "FAILING_TOO_LONG"
"""Why a webhook was disabled: its receiver answered 410 Gone, or it failed too long."""


def _move(conn: Connection, webhook_id: str, condition: ColumnElement[bool], **values: Any) -> bool:
    """Set ``values`` on the webhook if ``condition`` (its current health) holds; True if
    this call made the change (another process may have made it first)."""
    changed = conn.execute(
        update(webhooks).where(webhooks.c.id == webhook_id, condition).values(**values)
    ).rowcount
    return bool(changed)


def mark_failing(conn: Connection, webhook_id: str, now: float) -> bool:
    """HEALTHY → FAILING since ``now``; True if this call made the change."""
    return _move(conn, webhook_id, webhooks.c.health == HEALTHY, health=FAILING, failing_since=now)


def disable(
    conn: Connection,
    webhook_id: str,
    now: float,
    *,
    reason: str,
    failing_before: float | None = None,
) -> bool:
    """Disable the webhook (any state but DISABLED; with ``failing_before``, only if it has
    been FAILING since before then) and park its pending deliveries. True if this call
    disabled it. Its version (``updated_at``) changes: every process's next send of one of
    its deliveries sees that it is disabled."""
    w = webhooks.c
    condition = w.health != DISABLED
    if failing_before is not None:
        condition = and_(w.health == FAILING, w.failing_since <= failing_before)
    changed = _move(
        conn,
        webhook_id,
        condition,
        health=DISABLED,
        disabled_at=now,
        disabled_reason=reason,
        updated_at=now,
    )
    if changed:
        park(conn, webhook_id, now)
    return changed


def recovered(conn: Connection, webhook_id: str) -> bool:
    """FAILING → HEALTHY after a success; True if this call made the change. A DISABLED
    webhook stays disabled (an attempt in flight when it was disabled may still succeed):
    only enabling it brings it back."""
    return _move(conn, webhook_id, webhooks.c.health == FAILING, health=HEALTHY, failing_since=None)


def enable(conn: Connection, account_id: str, webhook_id: str, now: float) -> int | None:
    """DISABLED → HEALTHY, and its parked deliveries due now with a fresh schedule. The
    number resumed; None when the webhook was not disabled (nothing changes)."""
    w = webhooks.c
    changed = conn.execute(
        update(webhooks)
        .where(w.id == webhook_id, w.account_id == account_id, w.health == DISABLED)
        .values(
            health=HEALTHY,
            failing_since=None,
            disabled_at=None,
            disabled_reason=None,
            updated_at=now,
        )
    ).rowcount
    if not changed:
        return None
    c = deliveries.c
    resumed = conn.execute(
        update(deliveries)
        .where(c.webhook_id == webhook_id, c.status == "PENDING", c.due_at.is_(None))
        .values(
            due_at=now,
            attempts=0,
            schedule_started_at=now,
            last_error=None,
            updated_at=now,
        )
    ).rowcount
    return int(resumed or 0)


def park(conn: Connection, webhook_id: str, now: float, delivery_id: str | None = None) -> int:
    """Take the webhook's pending deliveries (or just ``delivery_id``) out of the due set.
    A row another worker is sending is left to it: once its attempt is recorded, the next
    claim of it parks it."""
    c = deliveries.c
    query = update(deliveries).where(
        c.webhook_id == webhook_id,
        c.status == "PENDING",
        or_(c.lease_until.is_(None), c.lease_until < now),
    )
    if delivery_id is not None:
        query = update(deliveries).where(c.id == delivery_id, c.status == "PENDING")
    changed = conn.execute(
        query.values(
            due_at=None,
            lease_owner=None,
            lease_until=None,
            last_error=WEBHOOK_DISABLED,
            updated_at=now,
        )
    ).rowcount
    return int(changed or 0)


def not_healthy(conn: Connection) -> set[str]:
    """The ids of the webhooks that are FAILING or DISABLED (few, and indexed)."""
    w = webhooks.c
    return set(conn.execute(select(w.id).where(w.health != HEALTHY)).scalars())


def disabled_count(conn: Connection) -> int:
    w = webhooks.c
    return int(conn.execute(select(func.count()).where(w.health == DISABLED)).scalar_one())


def ops_webhook_id(conn: Connection, account_id: str) -> str | None:
    """The webhook the account named for operational events, if any."""
    found: str | None = conn.execute(
        select(accounts.c.ops_webhook_id).where(accounts.c.id == account_id)
    ).scalar_one_or_none()
    return found


def set_ops_webhook(conn: Connection, account_id: str, webhook_id: str | None) -> None:
    conn.execute(
        update(accounts).where(accounts.c.id == account_id).values(ops_webhook_id=webhook_id)
    )


def pending_by_webhook(conn: Connection) -> list[dict[str, Any]]:
    """Per webhook (None: custom targets): pending deliveries and the oldest one's creation."""
    c = deliveries.c
    rows = conn.execute(
        select(c.webhook_id, func.count(), func.min(c.created_at))
        .where(c.status == "PENDING")
        .group_by(c.webhook_id)
    )
    return [{"webhook_id": r[0], "pending": int(r[1]), "oldest": float(r[2])} for r in rows]
