"""On PostgreSQL a read is the pool's ping and its own statements: no transaction is
opened (``BEGIN``) and ended (``ROLLBACK``) around them, two round trips that changed
nothing a read sees at READ COMMITTED. The pool's next user still gets a transaction.

Counted on the wire: libpq's trace of the connections (what the client sent)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, event, func, select

from flowhook.store.db import Store
from flowhook.store.tables import user_preferences
from support.wire import Wire

pytestmark = pytest.mark.slow


def count_preferences(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(user_preferences)).scalar_one())


async def test_a_read_sends_its_statement_and_the_pool_ping_only(
    postgres_store: Store, tmp_path: Path
) -> None:
    wire = Wire(tmp_path / "libpq-trace.txt")
    event.listen(postgres_store.engine, "engine_connect", wire.attach)
    counts = [await postgres_store.read(count_preferences) for _ in range(3)]
    executed, trips = wire.read()
    assert counts == [0, 0, 0]
    assert not [s for s in executed if s.split()[0].upper() in ("BEGIN", "ROLLBACK")]
    assert len([s for s in executed if s.startswith("SELECT count(*)")]) == 3
    assert trips <= 2 * 3  # per read: the ping, the statement


async def test_a_transaction_after_a_read_on_the_same_connection_is_still_atomic(
    postgres_store: Store,
) -> None:
    await postgres_store.read(count_preferences)  # the pooled connection a read used

    def half_then_fail(conn: Connection) -> None:
        conn.execute(
            user_preferences.insert().values(
                account_id="acct-a", contact="911", variables={}, updated_at=0.0
            )
        )
        raise RuntimeError("fails after its insert")

    with pytest.raises(RuntimeError):
        postgres_store.write_sync(half_then_fail)
    assert await postgres_store.read(count_preferences) == 0
