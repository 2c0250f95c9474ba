"""Waking workers costs one ``pg_notify`` per group-committed transaction, not one per
write, and an API-only process accepting a burst of triggers sends their inserts and the
notification in one round trip with its BEGIN and COMMIT (``Statement.later``: psycopg's
pipeline mode; the group commit's ``_transaction``).

Counted on the wire: libpq's trace of the writer's connection (what the client sent)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event

from flowhook.store import executions as execution_repo
from flowhook.store.db import Store
from flowhook.store.notify import notify
from support.wire import Wire

pytestmark = pytest.mark.slow


async def test_a_batch_of_accepted_triggers_notifies_once_per_transaction(
    postgres_store: Store, make_state: Any, tmp_path: Path
) -> None:
    wire = Wire(tmp_path / "libpq-trace.txt")
    event.listen(postgres_store.engine, "begin", wire.attach)
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
    executed, trips = wire.read()
    notifies = [s for s in executed if "pg_notify" in s]
    inserts = [s for s in executed if s.startswith("INSERT INTO executions")]
    assert transactions < len(states)  # batched: the case this is about
    assert len(inserts) == len(states)
    assert len(notifies) == transactions
    # per transaction one round trip: BEGIN, the inserts, the notification and COMMIT
    # in one pipeline (psycopg alone would wait for BEGIN and for COMMIT apart)
    assert trips <= transactions
    stored = await postgres_store.read(
        lambda c: [execution_repo.get(c, s.uuid) is not None for s in states]
    )
    assert all(stored)
