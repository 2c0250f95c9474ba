"""The worker's writes read nothing back in the middle of their transaction: the finish
(its checkpoint, whose lease is checked just before the commit, and its flow-complete
delivery's insert, whose answer is read after the commit) and an attempt's record (whose
roll-up figures the caller names). So a batch of them costs PostgreSQL one pipeline and
the commit's, not one round trip per write; a lost lease still rolls back that finish and
its delivery, alone; and the console's figures count what was committed.

Counted on the wire: libpq's trace of the writer's connection (what the client sent)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event

from flowhook.domain.message import AttemptRecord, OutgoingRequest
from flowhook.engine.state import ExecutionState, Status
from flowhook.settings import Settings
from flowhook.store import deliveries as delivery_repo
from flowhook.store import executions as execution_repo
from flowhook.store import rollup
from flowhook.store.db import Store
from support.wire import Wire

NOW = 1_700_000_000.0
OWNER = "worker-1"


class LeaseGone(Exception):
    """What a finish whose lease another worker took raises."""


def start(store: Store, states: list[ExecutionState]) -> None:
    store.write_sync(
        lambda c: execution_repo.insert_many(
            c, states, due_at=NOW, lease_owner=OWNER, lease_until=NOW + 60, now=NOW
        )
    )


def finish(state: ExecutionState, holder: str = OWNER) -> Callable[[Connection], Any]:
    """The worker's finish (worker/runner.py ``_finish``): the checkpoint of the ended
    execution under the lease, and the flow-complete delivery's row (webhooks/outbox.py)."""

    def write(conn: Connection) -> Callable[[], delivery_repo.Inserted | None]:
        state.status = Status.COMPLETED
        execution_repo.save_later(
            conn, state, due_at=None, lease_owner=None, lease_until=None, now=NOW, holder=holder
        ).require(LeaseGone(state.uuid))
        return add_delivery(conn, state)

    return write


def delivery_id(state: ExecutionState) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"flow-complete:{state.uuid}"))


def add_delivery(conn: Connection, state: ExecutionState) -> Callable[[], Any]:
    return insert_delivery(
        conn, delivery_id(state), account_id=state.account_id, execution_uuid=state.uuid
    )


def insert_delivery(
    conn: Connection,
    delivery_id: str,
    *,
    account_id: str = "acct-a",
    execution_uuid: str | None = None,
    webhook_id: str | None = None,
) -> Callable[[], Any]:
    """A delivery leased by ``OWNER``, queued with the transaction's other writes; the
    function returned reads its answer after the commit."""
    return delivery_repo.insert(
        conn,
        delivery_id=delivery_id,
        account_id=account_id,
        execution_uuid=execution_uuid,
        webhook_id=webhook_id,
        endpoint="receiver.example:443",
        request=OutgoingRequest("POST", "https://receiver.example/hook", {}, b"{}", 5.0),
        secret_headers=None,
        due_at=NOW,
        lease_owner=OWNER,
        lease_until=NOW + 60,
        now=NOW,
        later=True,
    )


def created(store: Store) -> int:
    return store.read_sync(lambda c: rollup.account_since(c, "acct-a", NOW)).counts[
        "deliveries_created"
    ]


@pytest.mark.slow
async def test_a_batch_of_finishes_costs_two_round_trips_per_transaction(
    postgres_store: Store, make_state: Any, tmp_path: Path
) -> None:
    states = [make_state() for _ in range(30)]
    start(postgres_store, states)
    wire = Wire(tmp_path / "libpq-trace.txt")
    event.listen(postgres_store.engine, "begin", wire.attach)

    before = postgres_store.committer.transactions
    results = await asyncio.gather(*(postgres_store.write(finish(s)) for s in states))
    transactions = postgres_store.committer.transactions - before
    _executed, trips = wire.read()

    assert transactions < len(states)  # batched: the case this is about
    # per transaction: BEGIN and every finish's writes in one pipeline (the lease checks
    # and the inserts' answers read from it), then the roll-up and COMMIT in another
    assert trips <= 2 * transactions
    assert all(read() is not None for read in results)  # each inserted its delivery
    assert created(postgres_store) == len(states)


async def test_a_lost_lease_rolls_back_its_finish_alone(store: Store, make_state: Any) -> None:
    states = [make_state() for _ in range(10)]
    start(store, states)
    taken = states[4]

    outcomes = await asyncio.gather(
        *(store.write(finish(s, "worker-2" if s is taken else OWNER)) for s in states),
        return_exceptions=True,
    )

    lost = outcomes[4]
    assert isinstance(lost, LeaseGone) and str(lost) == taken.uuid
    kept = [o for o in outcomes if o is not lost]
    assert all(callable(o) and o() is not None for o in kept)

    def delivered(conn: Connection) -> list[bool]:
        return [delivery_repo.get_for_send(conn, delivery_id(s)) is not None for s in states]

    assert store.read_sync(delivered) == [s is not taken for s in states]
    assert created(store) == len(states) - 1  # the rolled-back insert is not counted
    stored = store.read_sync(lambda c: [execution_repo.get(c, s.uuid) for s in states])
    assert [s.status if s else None for s in stored] == [
        Status.PENDING if s is taken else Status.COMPLETED for s in states
    ]


async def test_a_second_insert_of_a_delivery_reads_none_and_is_not_counted(
    store: Store, make_state: Any
) -> None:
    state = make_state()
    start(store, [state])
    first = await store.write(finish(state))
    again = await store.write(lambda c: add_delivery(c, state))  # a replayed hook
    assert first() is not None
    assert again() is None
    assert created(store) == 1


ATTEMPT: AttemptRecord = {
    "at": NOW,
    "url": None,
    "status_code": 200,
    "duration_ms": 3.0,
    "request_headers": {},
    "response_excerpt": None,
    "error_reason": None,
    "error_message": None,
}


@pytest.mark.slow
async def test_a_batch_of_attempts_is_one_round_trip_and_counts_in_the_figures(
    postgres_store: Store, tmp_path: Path
) -> None:
    ids = [f"d-{i}" for i in range(30)]

    def add(conn: Connection) -> None:
        for delivery_id in ids:
            insert_delivery(conn, delivery_id, webhook_id="wh-1")

    postgres_store.write_sync(add)
    wire = Wire(tmp_path / "libpq-trace.txt")
    event.listen(postgres_store.engine, "begin", wire.attach)

    def record(delivery_id: str) -> Callable[[Connection], None]:
        return lambda c: delivery_repo.record_attempt(
            c,
            delivery_id,
            attempt=ATTEMPT,
            status=delivery_repo.SUCCEEDED,
            next_due=None,
            now=NOW,
            owner=("acct-a", "wh-1"),
        )

    before = postgres_store.committer.transactions
    await asyncio.gather(*(postgres_store.write(record(d)) for d in ids))
    transactions = postgres_store.committer.transactions - before
    _executed, trips = wire.read()

    assert transactions < len(ids)
    assert trips <= transactions  # BEGIN, the logs, the updates, the figures and COMMIT
    day = postgres_store.read_sync(lambda c: rollup.account_since(c, "acct-a", NOW))
    assert (day.counts["attempts"], day.counts["deliveries_succeeded"]) == (30, 30)
    minutes = postgres_store.read_sync(lambda c: rollup.webhook_minutes(c, "wh-1", NOW))
    assert sum(m.succeeded for m in minutes) == 30
    rows = postgres_store.read_sync(lambda c: [delivery_repo.get_for_send(c, d) for d in ids])
    assert all(r is not None and r.status == "SUCCEEDED" and r.attempts == 1 for r in rows)


async def test_on_sqlite_a_finish_leaves_nothing_queued_for_the_commit(
    tmp_path: Path, make_state: Any
) -> None:
    """SQLite has no round trip to save: a write whose answer is read later is sent at
    once. Held until the commit, a group commit under overload kept hundreds of cursors
    open (make bench's open-loop point ran at half its rate, at 2-4 x the CPU per flow)."""
    store = Store(Settings(database_url=f"sqlite:///{tmp_path / 'finish.db'}", data_dir=tmp_path))
    try:
        states = [make_state() for _ in range(20)]
        start(store, states)
        left: list[int] = []

        def finish_and_look(state: ExecutionState) -> Callable[[Connection], Any]:
            def write(conn: Connection) -> Any:
                read = finish(state)(conn)
                left.append(len(conn.info.get("flowhook_later") or []))
                return read

            return write

        results = await asyncio.gather(*(store.write(finish_and_look(s)) for s in states))
        assert left == [0] * len(states)
        assert all(read() is not None for read in results)
        assert created(store) == len(states)
    finally:
        store.close()
