"""Claims through a limited webhook's limiter, on both engines: two workers (two lease
owners on one database) together never lease more than the webhook's concurrency limit or
its tokens; the excess stays queued; a dead worker's slots come back when its leases
expire; webhooks without limits are claimed as before."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, select

from flowhook.domain.message import OutgoingRequest
from flowhook.store import deliveries as delivery_repo
from flowhook.store import webhook_limits as limit_repo
from flowhook.store.db import Store
from flowhook.store.tables import deliveries
from flowhook.store.webhooks import set_limiter

NOW = 1_700_000_000.0
LEASE = 30.0
A = "a.example:443"


def add(store: Store, delivery_id: str, webhook_id: str | None = "w1") -> None:
    store.write_sync(
        lambda c: delivery_repo.insert(
            c,
            delivery_id=delivery_id,
            account_id="acct-a",
            execution_uuid=None,
            webhook_id=webhook_id,
            endpoint=A,
            request=OutgoingRequest("POST", f"https://{A}/hook", {}, b"{}", 5.0),
            secret_headers=None,
            due_at=NOW,
            lease_owner=None,
            lease_until=None,
            now=NOW,
        )
    )


def claim(store: Store, owner: str, at: float, limit: int = 100) -> list[str]:
    """One worker's claim as the delivery engine makes it: the ordinary claim, then the
    limiters'."""

    def run(conn: Connection) -> list[str]:
        limited = limit_repo.limited(conn)
        got = delivery_repo.claim_due(conn, owner, at, at + LEASE, limit, limited=limited)
        through = limit_repo.claim(conn, owner, limited, at, at + LEASE, limit - len(got), {}, 100)
        return sorted(d.id for d in got + through.deliveries)

    return list(store.write_sync(run))


def finish(store: Store, delivery_id: str, at: float) -> None:
    attempt: Any = {
        "at": at,
        "status_code": 200,
        "duration_ms": 1.0,
        "request_headers": {},
        "response_excerpt": None,
        "error_reason": None,
        "error_message": None,
    }
    store.write_sync(
        lambda c: delivery_repo.record_attempt(
            c, delivery_id, attempt=attempt, status="SUCCEEDED", next_due=None, now=at
        )
    )


def pending(store: Store) -> int:
    return len(
        store.read_sync(
            lambda c: c.execute(select(deliveries.c.id).where(deliveries.c.status == "PENDING"))
        ).all()
    )


def test_two_workers_together_never_lease_more_than_the_concurrency_limit(store: Store) -> None:
    store.write_sync(lambda c: set_limiter(c, "w1", (None, 5), NOW))
    for i in range(12):
        add(store, f"d{i:02}")

    first = claim(store, "worker-1", NOW)
    assert len(first) == 5
    assert claim(store, "worker-2", NOW + 0.1) == []  # every slot is taken: queued
    assert pending(store) == 12  # nothing dropped

    finish(store, first[0], NOW + 0.2)  # one slot is free again, for any worker
    assert len(claim(store, "worker-2", NOW + 0.3)) == 1
    assert claim(store, "worker-1", NOW + 0.4) == []


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
def test_a_dead_workers_slots_come_back_when_its_leases_expire(store: Store) -> None:
    store.write_sync(lambda c: set_limiter(c, "w1", (None, 5), NOW))
    for i in range(12):
        add(store, f"d{i:02}")

    dead = claim(store, "worker-1", NOW)  # worker-1 is killed holding these
    assert len(dead) == 5
    assert claim(store, "worker-2", NOW + LEASE - 1) == []
    again = claim(store, "worker-2", NOW + LEASE + 1)
    assert len(again) == 5


def test_the_rate_limit_is_a_token_bucket_shared_by_every_worker(store: Store) -> None:
    store.write_sync(lambda c: set_limiter(c, "w1", (20.0, None), NOW))
    for i in range(100):
        add(store, f"d{i:03}")

    assert len(claim(store, "worker-1", NOW)) == 1  # a new limit starts with one token
    # a second later: 20 tokens in the bucket, shared by both workers
    assert len(claim(store, "worker-1", NOW + 1)) == 20
    assert claim(store, "worker-2", NOW + 1) == []
    assert len(claim(store, "worker-2", NOW + 1.5)) == 10
    assert len(claim(store, "worker-1", NOW + 1.75)) == 5
    # after a long idle time at most one second's worth at once
    assert len(claim(store, "worker-1", NOW + 100)) == 20
    assert pending(store) == 100  # claimed, not sent yet: nothing dropped


def test_deliveries_without_limits_are_claimed_as_before(store: Store) -> None:
    store.write_sync(lambda c: set_limiter(c, "w1", (None, 1), NOW))
    for i in range(3):
        add(store, f"limited{i}")
    for i in range(4):
        add(store, f"free{i}", webhook_id=None)
    add(store, "other", webhook_id="w2")

    got = claim(store, "worker-1", NOW)
    assert [d for d in got if not d.startswith("limited")] == [
        "free0",
        "free1",
        "free2",
        "free3",
        "other",
    ]
    assert len([d for d in got if d.startswith("limited")]) == 1


def test_lifting_the_limits_removes_the_limiter(store: Store) -> None:
    store.write_sync(lambda c: set_limiter(c, "w1", (None, 1), NOW))
    for i in range(3):
        add(store, f"d{i}")
    store.write_sync(lambda c: set_limiter(c, "w1", (None, None), NOW))

    assert store.read_sync(limit_repo.limited) == []
    assert len(claim(store, "worker-1", NOW)) == 3


def test_a_claim_made_with_an_older_clock_does_not_count_the_same_time_twice(
    store: Store,
) -> None:
    store.write_sync(lambda c: set_limiter(c, "w1", (20.0, None), NOW))
    for i in range(100):
        add(store, f"d{i:03}")

    assert len(claim(store, "worker-1", NOW + 1)) == 20
    # worker-2 read its clock before worker-1 did, and reached the limiter after it
    assert claim(store, "worker-2", NOW + 0.5) == []
    # half a second after worker-1's claim: ten tokens, not twenty
    assert len(claim(store, "worker-1", NOW + 1.5)) == 10
