"""Claiming and holding back deliveries, on both engines: a claim takes a bounded share of
one endpoint's backlog, and an endpoint that is down has its pending rows moved past the
cool-down (or dead-lettered when too old) in bulk, sparing rows another worker holds."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, select, update

from flowhook.domain.message import OutgoingRequest
from flowhook.store import deliveries as delivery_repo
from flowhook.store.db import Store
from flowhook.store.tables import deliveries

NOW = 1_700_000_000.0
A, B = "a.example:443", "b.example:443"


def add(store: Store, delivery_id: str, endpoint: str = A, **fields: Any) -> None:
    values: dict[str, Any] = {
        "delivery_id": delivery_id,
        "account_id": "acct-a",
        "execution_uuid": None,
        "webhook_id": None,
        "endpoint": endpoint,
        "request": OutgoingRequest("POST", f"https://{endpoint}/hook", {}, b"{}", 5.0),
        "secret_headers": None,
        "due_at": NOW,
        "lease_owner": None,
        "lease_until": None,
        "now": NOW,
        **fields,
    }
    store.write_sync(lambda c: delivery_repo.insert(c, **values))


def row(store: Store, delivery_id: str) -> Any:
    return store.read_sync(
        lambda c: c.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one()
    )


def claim(store: Store, limit: int, **caps: Any) -> list[str]:
    def run(conn: Connection) -> list[str]:
        got = delivery_repo.claim_due(conn, "me", NOW, NOW + 30, limit, **caps)
        return sorted(d.id for d in got)

    return list(store.write_sync(run))


def test_a_claim_takes_at_most_per_endpoint_of_one_endpoints_backlog(store: Store) -> None:
    for i in range(6):
        add(store, f"a{i}", due_at=NOW - 10 + i)  # A's backlog is older
    for i in range(2):
        add(store, f"b{i}", B)

    assert claim(store, 10, per_endpoint=2) == ["a0", "a1", "b0", "b1"]
    # A has no room left in the caller: the next claim leaves it out
    assert claim(store, 10, per_endpoint=2, rooms={A: 0}) == []
    assert claim(store, 10, per_endpoint=2, rooms={A: 1}) == ["a2"]


def test_an_endpoint_without_room_is_left_out_so_younger_work_is_reached(store: Store) -> None:
    for i in range(20):
        add(store, f"a{i:02}", due_at=NOW - 10)
    add(store, "b0", B)

    assert claim(store, 5, rooms={A: 0}) == ["b0"]


def test_postponing_moves_the_endpoints_waiting_rows_and_spares_other_workers(
    store: Store,
) -> None:
    add(store, "free")
    add(store, "mine", lease_owner="me", lease_until=NOW + 30)
    add(store, "theirs", lease_owner="other", lease_until=NOW + 30)
    add(store, "expired", lease_owner="other", lease_until=NOW - 1)
    add(store, "later", due_at=NOW + 100)
    add(store, "done")
    add(store, "elsewhere", B)
    store.write_sync(
        lambda c: c.execute(
            update(deliveries)
            .where(deliveries.c.id == "done")
            .values(status="SUCCEEDED", due_at=None)
        )
    )

    dead, postponed = store.write_sync(
        lambda c: delivery_repo.postpone(
            c, A, until=NOW + 30, owner="me", started_before=NOW - 1000, now=NOW
        )
    )

    assert (dead, postponed) == ([], 3)
    for moved in ("free", "mine", "expired"):
        r = row(store, moved)
        assert (r.status, r.due_at, r.lease_owner, r.attempts) == ("PENDING", NOW + 30, None, 0)
        assert r.last_error == "CIRCUIT_OPEN"
    assert row(store, "theirs").due_at == NOW  # another live worker holds it
    assert row(store, "later").due_at == NOW + 100
    assert row(store, "done").status == "SUCCEEDED"
    assert row(store, "elsewhere").due_at == NOW


def test_postponing_dead_letters_rows_older_than_the_whole_schedule(store: Store) -> None:
    add(store, "old", now=NOW - 2000)
    add(store, "replayed", now=NOW - 2000)
    add(store, "young", now=NOW - 10)
    store.write_sync(  # a dead letter: only a finished delivery can be replayed
        lambda c: c.execute(
            update(deliveries)
            .where(deliveries.c.id == "replayed")
            .values(status="FAILED", due_at=None)
        )
    )
    assert store.write_sync(lambda c: delivery_repo.replay(c, "acct-a", "replayed", NOW - 5))

    dead, postponed = store.write_sync(
        lambda c: delivery_repo.postpone(
            c, A, until=NOW + 30, owner="me", started_before=NOW - 1000, now=NOW
        )
    )

    assert ([d.id for d in dead], postponed) == (["old"], 2)  # named: told as exhausted
    old = row(store, "old")
    assert (old.status, old.last_error, old.due_at, old.finished_at) == (
        "FAILED",
        "CIRCUIT_OPEN",
        None,
        NOW,
    )
    assert row(store, "replayed").status == "PENDING"  # a replay starts the schedule again
    assert row(store, "young").status == "PENDING"


def test_a_release_hands_back_only_a_delivery_this_worker_holds(store: Store) -> None:
    add(store, "mine", lease_owner="me", lease_until=NOW + 30)
    add(store, "theirs", lease_owner="other", lease_until=NOW + 30)
    for delivery_id in ("mine", "theirs"):
        store.write_sync(
            functools.partial(
                delivery_repo.release,
                owner="me",
                delivery_id=delivery_id,
                due_at=NOW + 30,
                now=NOW,
            )
        )

    mine, theirs = row(store, "mine"), row(store, "theirs")
    assert (mine.due_at, mine.lease_owner, mine.attempts) == (NOW + 30, None, 0)
    assert mine.last_error == "CIRCUIT_OPEN"
    assert (theirs.due_at, theirs.lease_owner) == (NOW, "other")
