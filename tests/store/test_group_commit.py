"""The group committer: concurrent writes share transactions, and a failing write fails
alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import Connection, func, select

from flowhook.engine.state import ExecutionState
from flowhook.store import preferences
from flowhook.store.db import Store
from flowhook.store.tables import user_preferences


def count_rows(store: Store) -> int:
    return int(
        store.read_sync(
            lambda c: c.execute(select(func.count()).select_from(user_preferences)).scalar_one()
        )
    )


def write_contact(number: int) -> Callable[[Connection], int]:
    def write(conn: Connection) -> int:
        preferences.merge(conn, "acct-a", f"9198{number:08d}", {"n": number}, time.time())
        return number

    return write


async def test_concurrent_writes_are_batched_into_fewer_transactions(store: Store) -> None:
    before = store.committer.transactions
    results = await asyncio.gather(*(store.write(write_contact(i)) for i in range(200)))
    assert results == list(range(200))
    transactions = store.committer.transactions - before
    assert 1 <= transactions < 200
    assert count_rows(store) == 200


async def test_each_caller_gets_its_own_result_after_commit(store: Store) -> None:
    await asyncio.gather(*(store.write(write_contact(i)) for i in range(20)))
    stored = await store.read(lambda c: preferences.load(c, "acct-a", "919800000007"))
    assert stored == {"n": 7}


async def test_a_failing_write_fails_alone_and_the_others_commit(store: Store) -> None:
    def broken(conn: Connection) -> None:
        preferences.merge(conn, "acct-a", "919999999999", {"half": "written"}, time.time())
        raise ValueError("this write is broken")

    writes: list[Awaitable[object]] = [store.write(write_contact(i)) for i in range(50)]
    writes.insert(25, store.write(broken))
    results = await asyncio.gather(*writes, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    assert count_rows(store) == 50  # the broken write's own insert was rolled back
    assert await store.read(lambda c: preferences.load(c, "acct-a", "919999999999")) == {}


async def test_a_failing_database_statement_fails_alone(store: Store) -> None:
    def duplicate(conn: Connection) -> None:
        for _ in range(2):  # the primary key refuses the second row
            conn.execute(
                user_preferences.insert().values(
                    account_id="acct-a", contact="911", variables={}, updated_at=0.0
                )
            )

    writes: list[Awaitable[object]] = [store.write(write_contact(i)) for i in range(30)]
    writes.append(store.write(duplicate))
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert sum(isinstance(r, BaseException) for r in results) == 1
    assert count_rows(store) == 30


async def test_the_store_keeps_working_after_a_failed_write(store: Store) -> None:
    def broken(conn: Connection) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.write(broken)
    assert await store.write(write_contact(1)) == 1
    assert count_rows(store) == 1


async def test_an_insert_sent_with_the_commit_fails_alone_when_the_commit_refuses_it(
    store: Store, make_state: Callable[[], ExecutionState]
) -> None:
    """The trigger's insert is sent with the batch's next statement or its commit
    (``Statement.later``): an insert the database refuses only then still fails its own
    write, and every other write of the batch commits."""
    from flowhook.store import executions as execution_repo

    taken = make_state()
    await store.write(
        lambda c: execution_repo.insert_many(
            c, [taken], due_at=None, lease_owner=None, lease_until=None, now=0.0
        )
    )
    fresh = [make_state() for _ in range(20)]

    def accept(state: ExecutionState) -> Callable[[Connection], str]:
        def write(conn: Connection) -> str:
            execution_repo.insert_many(
                conn, [state], due_at=0.0, lease_owner=None, lease_until=None, now=0.0
            )
            return state.uuid

        return write

    writes: list[Awaitable[object]] = [store.write(accept(s)) for s in fresh]
    writes.insert(10, store.write(accept(taken)))  # the primary key refuses it at the commit
    results = await asyncio.gather(*writes, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(results[10], BaseException)
    stored = await store.read(lambda c: [execution_repo.get(c, s.uuid) for s in fresh])
    assert all(s is not None for s in stored)
