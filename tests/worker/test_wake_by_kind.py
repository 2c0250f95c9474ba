"""A worker woken by another process runs only the claim of the work that was stored: the
notification's payload names its kind (``store/notify.Work``), and ``Runtime.wake`` nudges
that loop alone (each claim is a transaction on the writer); a payload that names no
kind (on connecting, or from an older process) still runs them all."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Connection

from flowhook.runtime import Runtime
from flowhook.store.notify import CHANNEL, Work, libpq_url, notify
from support.app import settings_for


async def settled(rt: Runtime) -> None:
    """Let every claim the loops started finish: a write after them in the writer's queue
    comes back after theirs, and their tasks then run before this one."""
    await rt.store.write(lambda c: None)
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_wake_runs_the_claim_of_its_kind_only(sqlite_url: str, tmp_path: Path) -> None:
    rt = Runtime.build(settings_for(sqlite_url, tmp_path, poll_interval_s=3600.0))
    try:
        await rt.start()
        while rt.runner.claims < 1 or rt.deliveries.claims < 1:  # the claims at start
            await asyncio.sleep(0.01)
        await settled(rt)
        executions, deliveries = rt.runner.claims, rt.deliveries.claims

        rt.wake(Work.DELIVERIES)
        while rt.deliveries.claims == deliveries:
            await asyncio.sleep(0.01)
        await settled(rt)
        assert rt.runner.claims == executions

        rt.wake(Work.EXECUTIONS)
        while rt.runner.claims == executions:
            await asyncio.sleep(0.01)
        await settled(rt)
        assert rt.deliveries.claims == deliveries + 1

        rt.wake("")  # any kind: every claim
        while rt.runner.claims == executions + 1 or rt.deliveries.claims == deliveries + 1:
            await asyncio.sleep(0.01)
    finally:
        await rt.stop()


@pytest.mark.slow
async def test_a_notification_says_which_work_was_stored_once_per_kind(
    postgres_url: str, tmp_path: Path
) -> None:
    rt = Runtime.build(settings_for(postgres_url, tmp_path))
    try:
        with psycopg.connect(libpq_url(postgres_url), autocommit=True) as listening:
            listening.execute(f"LISTEN {CHANNEL}")

            def stored(conn: Connection) -> None:
                notify(conn, Work.EXECUTIONS)
                notify(conn, Work.DELIVERIES)
                notify(conn, Work.EXECUTIONS)  # the same kind again: no second notification

            await rt.store.write(stored)
            payloads = [n.payload for n in listening.notifies(timeout=5, stop_after=2)]
            assert sorted(payloads) == ["deliveries", "executions"]
            assert not list(listening.notifies(timeout=0.2))  # and nothing more
    finally:
        await rt.stop()
