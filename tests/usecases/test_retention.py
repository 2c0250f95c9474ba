"""Retention (issue 16): finished executions (with their step logs) and finished
deliveries (with their attempts) older than the account's retention are removed by a
background job in small batches; anything pending or running stays, however old."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError
from sqlalchemy import Connection, func, insert, select

from flowhook.domain.account import Account
from flowhook.runtime import Runtime
from flowhook.store.tables import deliveries, delivery_attempts, executions
from flowhook.usecases import accounts
from support.deliveries import add_delivery
from usecases.conftest import MakeAccount

DAY = 86400.0
NOW = 1_800_000_000.0


def add_execution(conn: Connection, account: Account, status: str, created_at: float) -> str:
    execution_id = str(uuid.uuid4())
    finished = status in {"COMPLETED", "FAILED"}
    conn.execute(
        insert(executions).values(
            uuid=execution_id,
            account_id=account.id,
            flow_id="F1",
            version="prod",
            request_id=str(uuid.uuid4()),
            status=status,
            state={"steps": [{"widget": "start"}]},
            due_at=None if finished else created_at,
            created_at=created_at,
            updated_at=created_at,
            finished_at=created_at + 1 if finished else None,
        )
    )
    return execution_id


def left(conn: Connection) -> tuple[set[str], set[str], int]:
    return (
        set(conn.execute(select(executions.c.uuid)).scalars()),
        set(conn.execute(select(deliveries.c.id)).scalars()),
        int(conn.execute(select(func.count()).select_from(delivery_attempts)).scalar_one()),
    )


async def test_old_finished_rows_go_in_batches_and_pending_or_running_ones_stay(
    rt: Runtime, make_account: MakeAccount
) -> None:
    account = await make_account("acme")
    old, recent = NOW - 31 * DAY, NOW - 29 * DAY

    def arrange(conn: Connection) -> dict[str, list[str]]:
        return {
            "gone": [add_execution(conn, account, s, old) for s in ("COMPLETED", "FAILED") * 3]
            + [
                add_delivery(conn, account, created_at=old, status=s)
                for s in ("SUCCEEDED", "FAILED") * 3
            ],
            "kept": [
                add_execution(conn, account, "RUNNING", old),
                add_execution(conn, account, "WAITING", old),
                add_execution(conn, account, "COMPLETED", recent),
                add_delivery(conn, account, created_at=old, status="PENDING", retried=True),
                add_delivery(conn, account, created_at=recent, status="SUCCEEDED"),
            ],
        }

    made = await rt.store.write(arrange)
    rt.services.clock = lambda: NOW
    rt.settings.retention_batch = 2  # three batches of each kind, and a last empty one
    assert rt.retention is not None
    removed = await rt.retention.run_once()
    executions_left, deliveries_left, attempts_left = await rt.store.read(left)
    assert (removed.executions, removed.deliveries, removed.attempts) == (6, 6, 6)
    assert executions_left | deliveries_left == set(made["kept"])
    assert attempts_left == 2  # the attempts of the two deliveries kept


async def test_each_account_keeps_rows_for_its_own_number_of_days(
    rt: Runtime, make_account: MakeAccount
) -> None:
    short, long = await make_account("short"), await make_account("long")
    await accounts.set_retention(rt, short, accounts.RetentionIn(days=7))
    await accounts.set_retention(rt, long, accounts.RetentionIn(days=365))
    week_and_a_day = NOW - 8 * DAY

    def arrange(conn: Connection) -> tuple[str, str, str]:
        return (
            add_delivery(conn, short, created_at=week_and_a_day, status="SUCCEEDED"),
            add_delivery(conn, long, created_at=week_and_a_day, status="SUCCEEDED"),
            add_delivery(conn, long, created_at=NOW - 366 * DAY, status="SUCCEEDED"),
        )

    short_one, long_one, year_old = await rt.store.write(arrange)
    rt.services.clock = lambda: NOW
    assert rt.retention is not None
    await rt.retention.run_once()
    _, deliveries_left, _ = await rt.store.read(left)
    assert deliveries_left == {long_one}
    assert short_one not in deliveries_left and year_old not in deliveries_left
    shown = await accounts.retention(rt, long)
    assert (shown.days, shown.effective_days) == (365, 365)
    await accounts.set_retention(rt, long, accounts.RetentionIn(days=None))
    shown = await accounts.retention(rt, long)
    assert (shown.days, shown.effective_days) == (None, 30)


def test_a_retention_outside_1_to_3650_days_is_refused() -> None:
    for days in (0, 3651, -1):
        with pytest.raises(ValidationError):
            accounts.RetentionIn(days=days)
