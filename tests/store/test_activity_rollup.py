"""The last day's roll-up (store/rollup.py), on both engines: what the writes note is added
once per transaction, by upserts that lose nothing when two writers (two group committers,
as two worker processes have) add to the same rows at once; a write that rolls back counts
nothing; and the figures come back as the home page and a webhook's chart read them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection

from flowhook.settings import Settings
from flowhook.store import rollup
from flowhook.store.commit import GroupCommitter
from flowhook.store.db import Store
from flowhook.store.tables import ATTEMPT_BOUNDS_MS

NOW = time.time()


def one_flow(n: int) -> Callable[[Connection], int]:
    """What one flow's writes note: started, finished, a delivery and its attempt."""

    def write(conn: Connection) -> int:
        rollup.execution_started(conn, "acct-a", NOW)
        rollup.execution_finished(conn, "acct-a", NOW, completed=n % 10 != 0, duration_s=1.0)
        rollup.delivery_created(conn, "acct-a", NOW)
        rollup.attempt(conn, "acct-a", "hook-1", NOW, ok=n % 4 != 0, duration_ms=30.0)
        rollup.delivery_finished(conn, "acct-a", "hook-1", NOW, succeeded=n % 4 != 0)
        return n

    return write


async def test_two_writers_adding_to_the_same_rows_lose_no_increment(
    database_url: str, tmp_path: Path
) -> None:
    first = Store(Settings(database_url=database_url, data_dir=tmp_path))  # migrates
    other = Store(Settings(database_url=database_url, data_dir=tmp_path), migrate=False)
    try:
        await asyncio.gather(
            *(first.write(one_flow(n)) for n in range(0, 400, 2)),
            *(other.write(one_flow(n)) for n in range(1, 400, 2)),
        )
        day = first.read_sync(lambda c: rollup.account_since(c, "acct-a", NOW - 3600))
        minutes = first.read_sync(lambda c: rollup.webhook_minutes(c, "hook-1", NOW - 3600))
        failures = first.read_sync(lambda c: rollup.webhook_failures(c, ["hook-1"], NOW - 3600))
    finally:
        first.close()
        other.close()
    assert day.counts == {
        "executions_started": 400,
        "executions_completed": 360,
        "executions_failed": 40,
        "deliveries_created": 400,
        "deliveries_succeeded": 300,
        "deliveries_failed": 100,
        "attempts": 400,
        "attempts_ok": 300,
    }
    assert sum(day.durations) == 400
    assert [(m.attempts, m.succeeded) for m in minutes] == [(400, 300)]
    assert failures == {"hook-1": (100, 100)}
    assert first.committer.transactions < 200  # noted per transaction, not per write


async def test_a_write_that_rolls_back_counts_nothing(store: Store) -> None:
    def broken(conn: Connection) -> int:
        rollup.execution_started(conn, "acct-a", NOW)
        raise RuntimeError("this write fails")

    # queued before a writer (as the store makes it) starts, so that they share one batch:
    # the batch fails, and its writes are run again one by one
    writer = GroupCommitter(store.engine, before_commit=rollup.flush, on_begin=rollup.reset)
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(writer.submit(one_flow(n))) for n in (1, 2)]
    tasks.insert(1, loop.create_task(writer.submit(broken)))
    await asyncio.sleep(0)
    writer.start()
    try:
        done = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        writer.stop()
    assert done[0] == 1 and done[2] == 2 and isinstance(done[1], RuntimeError)
    day = store.read_sync(lambda c: rollup.account_since(c, "acct-a", NOW - 3600))
    assert day.counts["executions_started"] == 2


def test_percentiles_are_interpolated_inside_their_bucket() -> None:
    bounds = ATTEMPT_BOUNDS_MS
    histogram = [0] * (len(bounds) + 1)
    histogram[bounds.index(40)] = 100  # 100 attempts between 25 and 40 ms
    assert rollup.percentile(bounds, histogram, 0.5) == pytest.approx(32.5)
    assert rollup.percentile(bounds, histogram, 0.99) == pytest.approx(39.85)
    histogram[-1] = 100  # and 100 beyond the last bound: a lower limit
    assert rollup.percentile(bounds, histogram, 0.99) == float(bounds[-1])
    assert rollup.percentile(bounds, [0] * len(histogram), 0.5) is None
