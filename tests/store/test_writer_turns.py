"""Several processes writing one SQLite file take turns on a file lock, batch by batch: what
a batch reads is still true when it writes. (Without the lock, the test loses about half of
the increments: Python's sqlite3 begins the transaction only at the first write, so two
processes read the same value and both write value + 1.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection, text

from flowhook.store.commit import GroupCommitter
from flowhook.store.db import make_engine, upgrade, writer_lock_path

WRITES = 150


def increment(conn: Connection) -> int:
    """Read, then write: the pattern of a claim (select due rows, then lease them)."""
    value = int(conn.execute(text("SELECT variables FROM counter")).scalar_one())
    conn.execute(text("UPDATE counter SET variables = :v"), {"v": value + 1})
    return value


async def test_two_writers_of_one_file_take_turns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    upgrade(url)
    setup = make_engine(url, single=True)
    with setup.begin() as conn:
        conn.execute(text("CREATE TABLE counter (variables INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    setup.dispose()
    # two engines, two writer threads: as two processes with one connection each
    engines = [make_engine(url) for _ in range(2)]
    writers = [GroupCommitter(engine, lock_path=writer_lock_path(url)) for engine in engines]
    for writer in writers:
        writer.start()
    try:
        seen = await asyncio.gather(
            *(writers[i % 2].submit(increment) for i in range(WRITES)), return_exceptions=True
        )
    finally:
        for writer in writers:
            writer.stop()
        for engine in engines:
            engine.dispose()
    check = make_engine(url, single=True)
    with check.connect() as conn:
        final = conn.execute(text("SELECT variables FROM counter")).scalar_one()
    check.dispose()

    assert final == WRITES  # every write counted once
    assert sorted(v for v in seen if isinstance(v, int)) == list(range(WRITES))
    assert [w.conflicts for w in writers] == [0, 0]  # no batch had to be run again
