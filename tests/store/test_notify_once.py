"""Waking workers costs one ``pg_notify`` per group-committed transaction, not one per
write: an API-only process accepting a burst of triggers sends one round trip for all."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Connection, event

from flowhook.store import executions as execution_repo
from flowhook.store.db import Store
from flowhook.store.notify import notify

pytestmark = pytest.mark.slow


@pytest.fixture
def postgres_store(postgres_url: str, tmp_path: Any) -> Any:
    from flowhook.settings import Settings

    store = Store(Settings(database_url=postgres_url, data_dir=tmp_path))
    try:
        yield store
    finally:
        store.close()


async def test_a_batch_of_accepted_triggers_notifies_once_per_transaction(
    postgres_store: Store, make_state: Any
) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(postgres_store.engine, "before_cursor_execute", seen)
    states = [make_state() for _ in range(50)]

    def accept(state: Any) -> Any:
        def write(conn: Connection) -> None:
            execution_repo.insert_many(
                conn, [state], due_at=0.0, lease_owner=None, lease_until=None, now=0.0
            )
            notify(conn)

        return write

    before = postgres_store.committer.transactions
    await asyncio.gather(*(postgres_store.write(accept(s)) for s in states))
    transactions = postgres_store.committer.transactions - before
    notifies = [s for s in statements if "pg_notify" in s]
    assert transactions < len(states)  # batched: the case this is about
    assert len(notifies) == transactions
    stored = await postgres_store.read(
        lambda c: [execution_repo.get(c, s.uuid) is not None for s in states]
    )
    assert all(stored)
