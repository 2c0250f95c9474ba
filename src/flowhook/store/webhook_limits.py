"""The limiters of saved webhooks with a rate or a concurrency limit, held across workers.

A limited webhook has one ``webhook_limits`` row: its limits and a token bucket (``tokens``
as of ``refilled_at``, refilled at ``rate`` per second up to one second's worth). Its
deliveries are never claimed by the ordinary claim: each worker's claim locks the row
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has one writer), counts the webhook's
deliveries leased now, and leases no more than the tokens and the free slots allow, taking
the tokens in the same transaction. The excess stays PENDING and due: queued, not dropped.

Deliveries in flight are counted from the leases themselves, not kept in a counter: a
worker killed mid-send leaks nothing, as its leases expire (``lease_seconds``) and the
slots with them.

An ordered webhook (``webhooks/ordering.py``) has a row too, so that its deliveries are
claimed here: one delivery of a key at a time, the first of its key still pending.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, exists, func, or_, select, update

from flowhook.store import deliveries as delivery_repo
from flowhook.store.deliveries import Delivery
from flowhook.store.raw import Statement
from flowhook.store.tables import deliveries, webhook_limits


@dataclass
class Claimed:
    """What a claim through the limiters leased, and when a token is next due for a
    webhook whose bucket ran dry with deliveries left (None: no such webhook)."""

    deliveries: list[Delivery]
    wake_at: float | None = None


# every claim runs it: on the driver (store/raw.py), with the transaction's BEGIN on PostgreSQL
_LIMITED = Statement("SELECT webhook_id FROM webhook_limits")


def limited(conn: Connection) -> list[str]:
    """The ids of the webhooks with a limiter: the one cheap check of every claim (the
    table has a row per limited webhook, none for the others)."""
    return [r[0] for r in _LIMITED.all(conn, {})]


def claim(
    conn: Connection,
    owner: str,
    webhook_ids: list[str],
    now: float,
    lease_until: float,
    budget: int,
    rooms: Mapping[str, int],
    default_room: int,
) -> Claimed:
    """Lease the due deliveries of ``webhook_ids`` their limiters allow, oldest first, at
    most ``budget`` in all and ``rooms[endpoint]`` (else ``default_room``) per endpoint."""
    out = Claimed([])
    taken: Counter[str] = Counter()
    for webhook_id in sorted(webhook_ids):  # one lock order for every worker
        if budget <= 0:
            break
        limiter = conn.execute(
            select(webhook_limits)
            .where(webhook_limits.c.webhook_id == webhook_id)
            .with_for_update()
        ).first()
        if limiter is None:
            continue  # its limits were lifted since the check
        allowed = budget
        tokens = 0.0
        # the workers' claims reach the lock in any order: time only moves forward, or a
        # claim made with an older clock would count the same time again
        refilled_at = max(now, limiter.refilled_at)
        if limiter.rate is not None:
            elapsed = refilled_at - limiter.refilled_at
            tokens = min(max(1.0, limiter.rate), limiter.tokens + elapsed * limiter.rate)
            allowed = min(allowed, math.floor(tokens))
        if limiter.max_in_flight is not None:
            allowed = min(allowed, limiter.max_in_flight - _in_flight(conn, webhook_id, now))
        ids = _due(
            conn, webhook_id, now, max(allowed, 0), rooms, default_room, taken, limiter.ordered
        )
        got = delivery_repo.lease(conn, owner, ids, now, lease_until)
        out.deliveries += got
        budget -= len(got)
        if limiter.rate is not None:
            tokens -= len(got)
            conn.execute(
                update(webhook_limits)
                .where(webhook_limits.c.webhook_id == webhook_id)
                .values(tokens=tokens, refilled_at=refilled_at)
            )
            if tokens < 1:  # dry: look again when the next token is in
                wake = refilled_at + (1 - tokens) / limiter.rate
                out.wake_at = wake if out.wake_at is None else min(out.wake_at, wake)
    return out


def _in_flight(conn: Connection, webhook_id: str, now: float) -> int:
    """The webhook's deliveries under a live lease, in any worker (an expired lease is a
    dead worker's: its slot is free again)."""
    c = deliveries.c
    count = conn.execute(
        select(func.count())
        .select_from(deliveries)
        .where(c.webhook_id == webhook_id, c.status == "PENDING", c.lease_until >= now)
    ).scalar_one()
    return int(count)


def _due(
    conn: Connection,
    webhook_id: str,
    now: float,
    limit: int,
    rooms: Mapping[str, int],
    default_room: int,
    taken: Counter[str],
    ordered: bool,
) -> list[str]:
    """Due deliveries of the webhook, oldest first; of an ordered webhook, only those with
    no earlier delivery of their key still pending (in flight, or waiting for a retry): at
    most one of a key, the first (``webhooks/ordering.py``)."""
    if limit <= 0:
        return []
    c = deliveries.c
    free = or_(c.lease_until.is_(None), c.lease_until < now)
    query = select(c.id, c.endpoint).where(
        c.webhook_id == webhook_id, c.status == "PENDING", c.due_at <= now, free
    )
    if ordered:
        e = deliveries.alias("earlier").c
        earlier = select(e.id).where(  # ix_deliveries_order_pending
            e.webhook_id == c.webhook_id,
            e.order_key == c.order_key,
            e.status == "PENDING",
            e.order_key.is_not(None),
            e.sequence < c.sequence,
        )
        query = query.where(or_(c.order_key.is_(None), ~exists(earlier)))
    rows = conn.execute(query.order_by(c.due_at).limit(limit).with_for_update(skip_locked=True))
    ids = []
    for row in rows:
        if taken[row.endpoint] < rooms.get(row.endpoint, default_room):
            taken[row.endpoint] += 1
            ids.append(row.id)
    return ids
