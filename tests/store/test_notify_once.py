"""Waking workers costs one ``pg_notify`` per group-committed transaction, not one per
write, and an API-only process accepting a burst of triggers sends their inserts and the
notification in one round trip (``Statement.later``: psycopg's pipeline mode).

Counted on the wire: libpq's trace of the writer's connection (what the client sent)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
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


class Wire:
    """The frontend messages of libpq's trace: which statements ran, and the round trips
    (each ``Sync`` of the extended protocol or simple ``Query`` waits for the server)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("w")
        self.traced: set[int] = set()

    def attach(self, conn: Connection, *_args: Any) -> None:
        pgconn = conn.connection.driver_connection.pgconn  # type: ignore[union-attr]
        if id(pgconn) not in self.traced:
            pgconn.trace(self.file.fileno())
            self.traced.add(id(pgconn))

    def read(self) -> tuple[list[str], int]:
        self.file.flush()
        named: dict[str, str] = {}
        parsed = ""
        executed: list[str] = []
        trips = 0
        for line in self.path.read_text().splitlines():
            fields = line.split("\t")
            if len(fields) < 4 or fields[1] != "F":
                continue
            kind, rest = fields[3], fields[4] if len(fields) > 4 else ""
            if kind == "Parse":
                name, text = re.match(r' "([^"]*)" "(.*)" \d', rest).groups()  # type: ignore[union-attr]
                named[name] = parsed = text
            elif kind == "Bind":
                name = re.match(r' "[^"]*" "([^"]*)"', rest).group(1)  # type: ignore[union-attr]
                executed.append(named[name] if name else parsed)
            elif kind == "Query":
                executed.append(rest.strip().strip('"'))
                trips += 1
            elif kind == "Sync":
                trips += 1
        return executed, trips


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
    # per transaction: BEGIN, then the inserts with the notification, then COMMIT
    assert trips <= 3 * transactions
    stored = await postgres_store.read(
        lambda c: [execution_repo.get(c, s.uuid) is not None for s in states]
    )
    assert all(stored)
