"""Recover (issue 16), called as the API and the console call it, on SQLite and PostgreSQL:
the failed deliveries of a webhook created in a window (or of one execution) are sent
again, each once and with its own webhook-id, by a job whose progress is kept in the
database; a job cut off by a restart carries on where it stopped; a large recovery leaves
room for new deliveries; another account's rows are never touched."""

from __future__ import annotations

import asyncio
import time
import uuid as uuid_mod
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.engine.state import ExecutionState, Status
from flowhook.errors import NotFound, ValidationFailed
from flowhook.runtime import Runtime
from flowhook.store import accounts as account_repo
from flowhook.store import executions as execution_repo
from flowhook.usecases import deliveries, recoveries, webhooks
from flowhook.usecases.recoveries import RecoverIn
from flowhook.usecases.webhooks import WebhookIn
from support.app import settings_for
from support.deliveries import add_delivery
from support.receiver import Receiver, receiver

MakeAccount = Callable[..., Awaitable[Account]]
HOUR = 3600.0


def at(seconds: float) -> datetime:
    """A time as a client sends it (to the microsecond: tests compare whole seconds)."""
    return datetime.fromtimestamp(seconds, UTC)


async def wait_done(rt: Runtime, account: Account, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        job = recoveries.view(await recoveries.get(rt, account, job_id))
        if job["status"] == "DONE":
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.02)


async def sent_ids(rec: Receiver, count: int) -> list[str]:
    got = await rec.wait_for(count)
    return [r.headers["webhook-id"] for r in got]


@asynccontextmanager
async def runtime(database_url: str, tmp_path: Path, **overrides: Any) -> AsyncIterator[Runtime]:
    rt = Runtime.build(settings_for(database_url, tmp_path, **overrides))
    try:
        yield rt
    finally:
        await rt.stop()


async def setup(rt: Runtime, url: str) -> tuple[Account, str]:
    account, _key = await rt.store.write(
        lambda c: account_repo.create(c, "acme", rt.cipher, rt.now(), http_enabled=True)
    )
    hook = await webhooks.create(rt, account, WebhookIn(name="crm", url=url))
    return account, hook.id


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_recover_sends_the_webhooks_failed_deliveries_of_the_window_once_each(
    rt: Runtime, make_account: MakeAccount
) -> None:
    rt.settings.recover_batch = 2  # several batches
    async with receiver() as rec:
        acme, hook = await setup(rt, rec.url)
        other_hook = await webhooks.create(rt, acme, WebhookIn(name="erp", url=rec.url))
        other = await make_account("other", http_enabled=True)
        now = float(int(rt.now()))
        since = float(int(now - 10 * HOUR))  # whole seconds: a datetime keeps them exactly

        def write(conn: Connection) -> None:
            for i in range(5):  # the ones to recover
                add_delivery(
                    conn, acme, f"d-{i}", created_at=since + i * HOUR, webhook_id=hook, url=rec.url
                )
            add_delivery(conn, acme, "old", created_at=since - 1, webhook_id=hook, url=rec.url)
            add_delivery(conn, acme, "ok", created_at=since + 1, webhook_id=hook, url=rec.url,
                         status="SUCCEEDED")  # fmt: skip
            add_delivery(conn, acme, "wait", created_at=since + 2, webhook_id=hook, url=rec.url,
                         status="PENDING")  # fmt: skip
            add_delivery(
                conn, acme, "erp", created_at=since + 3, webhook_id=other_hook.id, url=rec.url
            )
            # another account's row naming the same webhook: never the caller's to recover
            add_delivery(conn, other, "theirs", created_at=since + 4, webhook_id=hook, url=rec.url)

        await rt.store.write(write)
        await rt.start(worker=True)
        job = await recoveries.recover_webhook(rt, acme, hook, RecoverIn(since=at(since)))
        assert (job.total, job.status) == (5, "RUNNING")
        done = await wait_done(rt, acme, job.id)
        got = await sent_ids(rec, 5)
        await asyncio.sleep(0.3)  # anything sent beyond the five would show by now

    assert sorted(got) == [f"d-{i}" for i in range(5)]
    assert len(rec.received) == 5
    assert (done["total"], done["done"], done["failed"]) == (5, 5, 0)
    for untouched, status in (("old", "FAILED"), ("ok", "SUCCEEDED"), ("erp", "FAILED")):
        assert (await deliveries.get(rt, acme, untouched))["status"] == status
    assert (await deliveries.get(rt, other, "theirs"))["status"] == "FAILED"


async def test_the_window_ends_at_until(rt: Runtime) -> None:
    async with receiver() as rec:
        acme, hook = await setup(rt, rec.url)
        now = float(int(rt.now()))

        def write(conn: Connection) -> None:
            for i in range(4):
                add_delivery(
                    conn, acme, f"d-{i}", created_at=now - 4 * HOUR + i * HOUR, webhook_id=hook,
                    url=rec.url,
                )  # fmt: skip

        await rt.store.write(write)
        await rt.start(worker=True)
        job = await recoveries.recover_webhook(
            rt, acme, hook, RecoverIn(since=at(now - 3.5 * HOUR), until=at(now - 1.5 * HOUR))
        )
        done = await wait_done(rt, acme, job.id)
        assert sorted(await sent_ids(rec, 2)) == ["d-1", "d-2"]
    assert done["done"] == 2
    with pytest.raises(ValidationFailed) as raised:
        await recoveries.recover_webhook(
            rt, acme, hook, RecoverIn(since=at(now), until=at(now - HOUR))
        )
    assert raised.value.code == "INVALID_WINDOW"


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_a_job_cut_off_by_a_restart_carries_on_where_it_stopped(
    database_url: str, tmp_path: Path
) -> None:
    async with receiver() as rec:
        async with runtime(database_url, tmp_path, recover_batch=2) as first:
            acme, hook = await setup(first, rec.url)
            now = float(int(first.now()))

            def write(conn: Connection) -> None:
                for i in range(5):
                    add_delivery(
                        conn, acme, f"d-{i}", created_at=now - HOUR + i, webhook_id=hook,
                        url=rec.url,
                    )  # fmt: skip

            await first.store.write(write)
            job = await recoveries.recover_webhook(
                first, acme, hook, RecoverIn(since=at(now - HOUR))
            )
            await first.jobs.step()  # one batch, then the process goes away (no worker ran)
            cut = recoveries.view(await recoveries.get(first, acme, job.id))
        assert (cut["status"], cut["done"]) == ("RUNNING", 2)

        async with runtime(database_url, tmp_path, recover_batch=2) as second:
            await second.start(worker=True)
            done = await wait_done(second, acme, job.id)
            got = await sent_ids(rec, 5)
            await asyncio.sleep(0.3)
    assert sorted(got) == [f"d-{i}" for i in range(5)]  # the first batch too, once
    assert len(rec.received) == 5
    assert (done["total"], done["done"], done["failed"]) == (5, 5, 0)


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_large_recovery_leaves_room_for_new_deliveries(rt: Runtime) -> None:
    """The next batch waits until the previous one has been tried: with the receiver
    holding every request, the job stays at one batch while a new delivery goes out."""
    rt.settings.recover_batch = 2
    async with receiver() as rec:
        rec.hold = asyncio.Event()
        acme, hook = await setup(rt, rec.url)
        now = float(int(rt.now()))

        def write(conn: Connection) -> None:
            for i in range(6):
                add_delivery(
                    conn, acme, f"d-{i}", created_at=now - HOUR + i, webhook_id=hook, url=rec.url
                )

        await rt.store.write(write)
        await rt.start(worker=True)
        job = await recoveries.recover_webhook(rt, acme, hook, RecoverIn(since=at(now - HOUR)))
        assert sorted(await sent_ids(rec, 2)) == ["d-0", "d-1"]
        await rt.store.write(
            lambda c: add_delivery(
                c,
                acme,
                "new",
                created_at=rt.now(),
                webhook_id=hook,
                url=rec.url,
                status="PENDING",
                due_at=rt.now(),
            )
        )
        rt.deliveries.nudge()
        assert (await sent_ids(rec, 3))[2] == "new"
        await asyncio.sleep(1.0)  # several of the job's turns
        held = recoveries.view(await recoveries.get(rt, acme, job.id))
        assert (held["status"], held["done"], len(rec.received)) == ("RUNNING", 2, 3)
        rec.hold.set()
        done = await wait_done(rt, acme, job.id)
        await sent_ids(rec, 7)
    assert done["done"] == 6


async def test_recover_one_executions_failed_deliveries(
    rt: Runtime, make_account: MakeAccount
) -> None:
    async with receiver() as rec:
        acme, hook = await setup(rt, rec.url)
        other = await make_account("other")
        state = ExecutionState(
            uuid=str(uuid_mod.uuid4()), account_id=acme.id, flow_id="flowAAAA", version="prod",
            request_id="r-1", status=Status.COMPLETED, created_at=rt.now(),
        )  # fmt: skip
        now = float(int(rt.now()))

        def write(conn: Connection) -> None:
            execution_repo.insert_many(
                conn, [state], due_at=None, lease_owner=None, lease_until=None, now=now
            )
            for i in range(3):
                add_delivery(conn, acme, f"d-{i}", created_at=now - 100 + i, webhook_id=hook,
                             url=rec.url, execution_uuid=state.uuid)  # fmt: skip
            add_delivery(conn, acme, "elsewhere", created_at=now - 50, webhook_id=hook, url=rec.url)

        await rt.store.write(write)
        await rt.start(worker=True)
        with pytest.raises(NotFound) as raised:
            await recoveries.recover_execution(rt, other, state.uuid)
        assert raised.value.code == "EXECUTION_NOT_FOUND"
        job = await recoveries.recover_execution(rt, acme, state.uuid)
        done = await wait_done(rt, acme, job.id)
        got = await sent_ids(rec, 3)
        await asyncio.sleep(0.3)
    assert sorted(got) == ["d-0", "d-1", "d-2"] and len(rec.received) == 3
    assert (done["total"], done["done"], done["execution_uuid"]) == (3, 3, state.uuid)
    assert (await deliveries.get(rt, acme, "elsewhere"))["status"] == "FAILED"


async def test_another_accounts_webhook_and_job_are_not_found(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme, hook = await setup(rt, "http://127.0.0.1:9/hook")
    other = await make_account("other")
    job = await recoveries.recover_webhook(rt, acme, hook, RecoverIn(since=at(rt.now() - HOUR)))
    with pytest.raises(NotFound) as raised:
        await recoveries.recover_webhook(rt, other, hook, RecoverIn(since=at(0)))
    assert raised.value.code == "WEBHOOK_NOT_FOUND"
    for account, job_id in ((other, job.id), (acme, "no-such-job")):
        with pytest.raises(NotFound) as raised:
            await recoveries.get(rt, account, job_id)
        assert raised.value.code == "JOB_NOT_FOUND"
