"""Executions started, read and listed through the use cases, as the trigger's fast path,
its documented route, the console and the CLI do: straight on a Runtime, on SQLite and
PostgreSQL, without HTTP. The runner is told not to run here: executions stay stored."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest

from flowhook.domain.account import Account
from flowhook.engine.state import Status
from flowhook.errors import BadRequest, NotFound
from flowhook.runtime import Runtime
from flowhook.usecases import executions, flows
from flowhook.usecases.executions import ExecutionFilter, Trigger
from flowhook.usecases.flows import FlowSource

MakeAccount = Callable[..., Awaitable[Account]]


async def new_flow(rt: Runtime, account: Account, name: str) -> str:
    doc = {"name": name, "entry": {"start": "e"}, "widgets": {"e": {"type": "end"}}}
    saved = await flows.create(rt, account, FlowSource(json.dumps(doc).encode()))
    return saved.record.flow_id


async def test_start_then_read(rt: Runtime, account: Account, make_account: MakeAccount) -> None:
    rt.runner.local = False
    flow_id = await new_flow(rt, account, "greet")
    started = await executions.start(
        rt,
        account,
        flow_id,
        Trigger(version="test", variables={"$flow.key.name": "Ada"}),
    )
    state = await executions.get(rt, account, started["uuid"])
    assert (state.flow_id, state.version, state.request_id) == (
        flow_id,
        "test",
        started["request_id"],
    )
    assert state.variables["flow.key.name"] == "Ada"

    other = await make_account("other")
    with pytest.raises(NotFound) as raised:
        await executions.get(rt, other, started["uuid"])
    assert raised.value.code == "EXECUTION_NOT_FOUND"


async def test_prod_runs_only_once_published(rt: Runtime, account: Account) -> None:
    rt.runner.local = False
    flow_id = await new_flow(rt, account, "greet")
    with pytest.raises(NotFound):
        await executions.start(rt, account, flow_id, Trigger())
    await flows.publish(rt, account, flow_id)
    started = await executions.start(rt, account, flow_id, Trigger())
    assert (await executions.get(rt, account, started["uuid"])).version == "prod"


async def test_list_pages_newest_first_with_filters(rt: Runtime, account: Account) -> None:
    rt.runner.local = False
    first, second = await new_flow(rt, account, "one"), await new_flow(rt, account, "two")
    uuids = [
        (await executions.start(rt, account, flow_id, Trigger(version="test")))["uuid"]
        for flow_id in (first, second, first)
    ]

    page = await executions.list_page(rt, account, ExecutionFilter(limit=2))
    assert [r.uuid for r in page.items] == uuids[::-1][:2]
    assert page.next_cursor is not None
    rest = await executions.list_page(
        rt, account, ExecutionFilter(limit=2, cursor=page.next_cursor)
    )
    assert ([r.uuid for r in rest.items], rest.next_cursor) == ([uuids[0]], None)

    of_first = await executions.list_page(rt, account, ExecutionFilter(flow_id=first))
    assert [r.uuid for r in of_first.items] == [uuids[2], uuids[0]]
    pending = await executions.list_page(rt, account, ExecutionFilter(status=Status.PENDING))
    assert len(pending.items) == 3
    done = await executions.list_page(rt, account, ExecutionFilter(status=Status.COMPLETED))
    assert done.items == []

    with pytest.raises(BadRequest) as raised:
        await executions.list_page(rt, account, ExecutionFilter(cursor="not-ours"))
    assert raised.value.code == "INVALID_CURSOR"
