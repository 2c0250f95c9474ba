"""The executions and deliveries lists at scale, as the API and the console call them:
every filter returns exactly the matching rows of the caller's account (on SQLite and
PostgreSQL), newest first; paging never skips or repeats a row however many rows share a
creation time; and each filter's page is read through an index (the plan says so)."""

from __future__ import annotations

import uuid as uuid_mod
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from flowhook.domain.account import Account
from flowhook.engine.state import ExecutionState, Status
from flowhook.errors import ValidationFailed
from flowhook.runtime import Runtime
from flowhook.store import deliveries as delivery_repo
from flowhook.store import executions as execution_repo
from flowhook.usecases import deliveries, executions
from flowhook.usecases.deliveries import DeliveryFilter
from flowhook.usecases.executions import ExecutionFilter
from flowhook.usecases.pages import page_of, parse_cursor
from support.deliveries import add_delivery

MakeAccount = Callable[..., Awaitable[Account]]
T0 = 1_700_000_000.0


def execution(
    account: Account,
    *,
    created_at: float,
    flow_id: str = "flowAAAA",
    status: Status = Status.COMPLETED,
    contact: str | None = None,
    request_id: str | None = None,
) -> ExecutionState:
    return ExecutionState(
        uuid=str(uuid_mod.uuid4()),
        account_id=account.id,
        flow_id=flow_id,
        version="prod",
        request_id=request_id or str(uuid_mod.uuid4()),
        status=status,
        created_at=created_at,
        contact=contact,
    )


def store_executions(conn: Connection, states: list[ExecutionState]) -> None:
    execution_repo.insert_many(
        conn, states, due_at=None, lease_owner=None, lease_until=None, now=T0
    )


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def all_executions(rt: Runtime, account: Account, **filters: Any) -> list[str]:
    """Every page of the filtered list, in order (a cursor that does not move fails)."""
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        page = await executions.list_page(
            rt, account, ExecutionFilter(limit=2, cursor=cursor, **filters)
        )
        seen += [r.uuid for r in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    raise AssertionError("the pages never ended")


async def all_deliveries(rt: Runtime, account: Account, **filters: Any) -> list[str]:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        page = await deliveries.list_page(
            rt, account, DeliveryFilter(limit=2, cursor=cursor, **filters)
        )
        seen += [d["id"] for d in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    raise AssertionError("the pages never ended")


async def test_execution_filters_return_the_matching_rows_of_the_account_only(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme, other = await make_account("acme"), await make_account("other")
    states = [
        execution(acme, created_at=T0 + 0, flow_id="flowAAAA", contact="919876543210"),
        execution(acme, created_at=T0 + 10, flow_id="flowBBBB", status=Status.FAILED),
        execution(acme, created_at=T0 + 20, flow_id="flowAAAA", status=Status.FAILED),
        execution(acme, created_at=T0 + 30, flow_id="flowAAAA", contact="919876543210"),
        execution(acme, created_at=T0 + 40, flow_id="flowBBBB", status=Status.RUNNING),
    ]
    # the other account has rows that match every filter: none of them may show
    theirs = [
        execution(other, created_at=T0 + 5, flow_id="flowAAAA", contact="919876543210"),
        execution(other, created_at=T0 + 25, flow_id="flowBBBB", status=Status.FAILED),
    ]
    await rt.store.write(lambda c: store_executions(c, states + theirs))
    u = [s.uuid for s in states]

    assert await all_executions(rt, acme) == u[::-1]
    assert await all_executions(rt, acme, flow_id="flowAAAA") == [u[3], u[2], u[0]]
    assert await all_executions(rt, acme, status=Status.FAILED) == [u[2], u[1]]
    assert await all_executions(rt, acme, flow_id="flowBBBB", status=Status.FAILED) == [u[1]]
    # the number as the customer gave it: read with the account's region (IN)
    assert await all_executions(rt, acme, contact="+91 98765 43210") == [u[3], u[0]]
    assert await all_executions(rt, acme, contact="9876543210") == [u[3], u[0]]
    assert await all_executions(rt, acme, uuid=u[2]) == [u[2]]
    assert await all_executions(rt, acme, uuid=theirs[0].uuid) == []
    assert await all_executions(rt, acme, since=at(T0 + 10), until=at(T0 + 40)) == [
        u[3],
        u[2],
        u[1],
    ]
    assert await all_executions(rt, acme, since=at(T0 + 10), status=Status.FAILED) == [
        u[2],
        u[1],
    ]
    assert await all_executions(rt, acme, request_id=states[4].request_id) == [u[4]]
    assert await all_executions(rt, other) == [theirs[1].uuid, theirs[0].uuid]

    with pytest.raises(ValidationFailed) as raised:
        await executions.list_page(rt, acme, ExecutionFilter(contact="not a number"))
    assert raised.value.code == "INVALID_CONTACT_NUMBER"


async def test_delivery_filters_return_the_matching_rows_of_the_account_only(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme, other = await make_account("acme"), await make_account("other")

    def write(conn: Connection) -> None:
        add_delivery(
            conn, acme, "d0", created_at=T0, webhook_id="w1", execution_uuid="e1", status="PENDING"
        )
        add_delivery(conn, acme, "d1", created_at=T0 + 10, webhook_id="w2", status="FAILED")
        add_delivery(
            conn, acme, "d2", created_at=T0 + 20, webhook_id="w1", status="FAILED",
            execution_uuid="e1",
        )  # fmt: skip
        add_delivery(conn, acme, "d3", created_at=T0 + 30, webhook_id="w1", status="SUCCEEDED")
        add_delivery(conn, acme, "d4", created_at=T0 + 40, execution_uuid="e2", status="PENDING")
        add_delivery(
            conn,
            other,
            "x0",
            created_at=T0 + 5,
            webhook_id="w1",
            execution_uuid="e1",
            status="PENDING",
        )
        add_delivery(conn, other, "x1", created_at=T0 + 25, status="FAILED")

    await rt.store.write(write)

    assert await all_deliveries(rt, acme) == ["d4", "d3", "d2", "d1", "d0"]
    assert await all_deliveries(rt, acme, webhook="w1") == ["d3", "d2", "d0"]
    assert await all_deliveries(rt, acme, status="FAILED") == ["d2", "d1"]
    assert await all_deliveries(rt, acme, webhook="w1", status="FAILED") == ["d2"]
    assert await all_deliveries(rt, acme, execution="e1") == ["d2", "d0"]
    assert await all_deliveries(rt, acme, since=at(T0 + 10), until=at(T0 + 30)) == ["d2", "d1"]
    assert await all_deliveries(rt, acme, since=at(T0 + 20), webhook="w1") == ["d3", "d2"]
    assert await all_deliveries(rt, other) == ["x1", "x0"]
    assert await all_deliveries(rt, other, webhook="w2") == []


async def test_paging_never_skips_or_repeats_a_row_under_ties(
    rt: Runtime, make_account: MakeAccount
) -> None:
    """Rows sharing their creation time (a campaign starts thousands in one clock tick) are
    paged in (created_at, id) order: every row once, whatever the page size."""
    account = await make_account("ties")
    batches = iter(range(10_000))

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        times=st.lists(st.sampled_from([T0, T0 + 1, T0 + 1.5]), min_size=0, max_size=12),
        limit=st.integers(min_value=1, max_value=5),
    )
    def check(times: list[float], limit: int) -> None:
        # each example in a flow (executions) and a webhook (deliveries) of its own
        batch = next(batches)
        flow_id, webhook_id = f"f{batch:07d}", f"w{batch}"
        states = [execution(account, created_at=t, flow_id=flow_id) for t in times]

        def write(conn: Connection) -> None:
            store_executions(conn, states)
            for i, t in enumerate(times):
                add_delivery(
                    conn,
                    account,
                    f"{batch}-{i}",
                    created_at=t,
                    webhook_id=webhook_id,
                    status="PENDING",
                )

        rt.store.write_sync(write)

        def pages(
            list_for: Callable[..., list[Any]], key: Callable[[Any], tuple[float, str]]
        ) -> list[str]:
            seen: list[str] = []
            cursor: str | None = None
            while True:
                rows = rt.store.read_sync(
                    partial(list_for, after=parse_cursor(cursor), limit=limit + 1)
                )
                page = page_of(rows, limit, key)
                seen += [key(r)[1] for r in page.items]
                if page.next_cursor is None:
                    return seen
                cursor = page.next_cursor

        got = pages(
            lambda c, **kw: execution_repo.list_for(c, account.id, flow_id=flow_id, **kw),
            lambda r: (r.created_at, r.uuid),
        )
        expected = sorted(((s.created_at, s.uuid) for s in states), reverse=True)
        assert got == [ident for _, ident in expected]

        got = pages(
            lambda c, **kw: delivery_repo.list_for(c, account.id, webhook=webhook_id, **kw),
            lambda r: (r["created_at"], r["id"]),
        )
        expected = sorted(((t, f"{batch}-{i}") for i, t in enumerate(times)), reverse=True)
        assert got == [ident for _, ident in expected]

    check()


PLANS = {
    # filter -> the index its page must be read through
    "executions": (
        "SELECT uuid FROM executions WHERE account_id = 'a' {extra}"
        " AND created_at <= 5 AND (created_at < 5 OR uuid < 'x')"
        " ORDER BY created_at DESC, uuid DESC LIMIT 51",
        {
            "": "ix_executions_account_created",
            "AND flow_id = 'f'": "ix_executions_account_flow",
            "AND status = 'FAILED'": "ix_executions_account_status",
            "AND contact = '919876543210'": "ix_executions_account_contact",
            "AND request_id = 'r'": "ix_executions_account_request",
        },
    ),
    "deliveries": (
        "SELECT id FROM deliveries WHERE account_id = 'a' {extra}"
        " AND created_at <= 5 AND (created_at < 5 OR id < 'x')"
        " ORDER BY created_at DESC, id DESC LIMIT 51",
        {
            "": "ix_deliveries_account_created",
            "AND status = 'FAILED'": "ix_deliveries_account_status",
            "AND webhook_id = 'w'": "ix_deliveries_account_webhook",
            "AND execution_uuid = 'e'": "ix_deliveries_account_execution",
        },
    ),
}


@pytest.mark.parametrize("table", sorted(PLANS))
def test_each_list_filter_reads_through_its_index_without_sorting(
    table: str, sqlite_url: str
) -> None:
    """SQLite's plan for each filter's page (the statement the repository runs, written
    out): a search of the filter's index, no sort of the matching rows."""
    from flowhook.store.db import make_engine, upgrade

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url, single=True)
    sql, expected = PLANS[table]
    try:
        with engine.connect() as conn:
            for extra, index in expected.items():
                plan = " | ".join(
                    row[-1]
                    for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql.format(extra=extra)))
                )
                assert f"INDEX {index} " in plan, (extra, plan)
                assert "TEMP B-TREE" not in plan, (extra, plan)
    finally:
        engine.dispose()
