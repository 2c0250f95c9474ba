"""Flows and executions drawn through the use cases (as the console and any other adapter
call them), on SQLite and PostgreSQL, with the real Graphviz ``dot``."""

from __future__ import annotations

import asyncio
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from flowhook.domain.account import Account
from flowhook.engine.state import ExecutionState, Status
from flowhook.errors import NotFound
from flowhook.graphs import Drawing
from flowhook.runtime import Runtime
from flowhook.usecases import drawings, executions, flows
from flowhook.usecases.executions import Trigger
from flowhook.usecases.flows import FlowSource
from support.graphviz import dot_command

__all__ = ["dot_command"]

MakeAccount = Callable[..., Awaitable[Account]]
SVG = "{http://www.w3.org/2000/svg}"

FLOW: dict[str, Any] = {
    "name": "remind",
    "entry": {"start": "greet"},
    "widgets": {
        "greet": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.greeting", "value": "hi"}],
            "next": "route",
        },
        "route": {
            "type": "decision",
            "branches": [
                {
                    "exit": "later",
                    "conditions": [{"left": "$flow.key.wait", "op": "==", "right": "yes"}],
                }
            ],
            "exits": {"later": "pause", "default": "done"},
        },
        "pause": {"type": "delay", "minutes": 600, "next": "done"},
        "done": {"type": "end"},
    },
}


def classes(drawing: Drawing) -> dict[str, list[str]]:
    """The class list of each element with an id in the drawing's SVG."""
    assert drawing.svg is not None, drawing.problem
    root = ET.fromstring(drawing.svg)
    return {g.get("id", ""): (g.get("class") or "").split() for g in root.iter(f"{SVG}g")}


async def new_flow(rt: Runtime, account: Account) -> str:
    saved = await flows.create(rt, account, FlowSource(json.dumps(FLOW).encode()))
    return saved.record.flow_id


async def until(rt: Runtime, account: Account, uuid: str, status: Status) -> ExecutionState:
    deadline = time.monotonic() + 15
    while (state := await executions.get(rt, account, uuid)).status != status:
        assert time.monotonic() < deadline, f"execution still {state.status}"
        await asyncio.sleep(0.02)
    return state


async def test_a_flow_version_is_drawn_with_its_widgets(
    rt: Runtime, account: Account, make_account: MakeAccount, dot_command: str
) -> None:
    flow_id = await new_flow(rt, account)
    drawn = classes(await drawings.flow(rt, account, flow_id))
    for widget_id in FLOW["widgets"]:
        assert "widget" in drawn[f"widget-{widget_id}"]

    with pytest.raises(NotFound) as raised:
        await drawings.flow(rt, account, flow_id, "prod")
    assert raised.value.code == "FLOW_VERSION_NOT_FOUND"
    await flows.publish(rt, account, flow_id)
    assert "widget-pause" in classes(await drawings.flow(rt, account, flow_id, "prod"))

    other = await make_account("other")
    with pytest.raises(NotFound) as raised:
        await drawings.flow(rt, other, flow_id)
    assert raised.value.code == "FLOW_NOT_FOUND"


async def test_an_execution_is_drawn_with_its_path_while_it_waits_and_once_it_ends(
    rt: Runtime, account: Account, make_account: MakeAccount, dot_command: str
) -> None:
    await rt.start()
    flow_id = await new_flow(rt, account)
    waiting = await executions.start(
        rt, account, flow_id, Trigger(version="test", variables={"$flow.key.wait": "yes"})
    )
    await until(rt, account, waiting["uuid"], Status.WAITING)
    drawn = classes(await drawings.execution(rt, account, waiting["uuid"]))
    assert "visited" in drawn["widget-greet"] and "visited" in drawn["widget-route"]
    assert "current" in drawn["widget-pause"]
    assert not {"visited", "current"} & set(drawn["widget-done"])

    ended = await executions.start(rt, account, flow_id, Trigger(version="test"))
    await until(rt, account, ended["uuid"], Status.COMPLETED)
    drawn = classes(await drawings.execution(rt, account, ended["uuid"]))
    assert [w for w in FLOW["widgets"] if "visited" in drawn[f"widget-{w}"]] == [
        "greet",
        "route",
        "done",
    ]
    assert not any("current" in c for c in drawn.values())

    other = await make_account("other")
    with pytest.raises(NotFound) as raised:
        await drawings.execution(rt, other, ended["uuid"])
    assert raised.value.code == "EXECUTION_NOT_FOUND"


async def test_an_execution_whose_flow_was_deleted_has_no_drawing(
    rt: Runtime, account: Account, dot_command: str
) -> None:
    await rt.start()
    flow_id = await new_flow(rt, account)
    started = await executions.start(rt, account, flow_id, Trigger(version="test"))
    await until(rt, account, started["uuid"], Status.COMPLETED)
    await flows.delete(rt, account, flow_id)
    drawing = await drawings.execution(rt, account, started["uuid"])
    assert drawing == Drawing(
        None, "graph unavailable: the flow of this execution no longer exists"
    )


async def test_a_widget_of_a_flow_version_is_read_for_its_details(
    rt: Runtime, account: Account, make_account: MakeAccount
) -> None:
    flow_id = await new_flow(rt, account)
    assert await flows.widget(rt, account, flow_id, "pause") == FLOW["widgets"]["pause"]
    with pytest.raises(NotFound) as raised:
        await flows.widget(rt, account, flow_id, "nope")
    assert raised.value.code == "WIDGET_NOT_FOUND"
    with pytest.raises(NotFound) as raised:
        await flows.widget(rt, account, flow_id, "pause", "prod")
    assert raised.value.code == "FLOW_VERSION_NOT_FOUND"
    other = await make_account("other")
    with pytest.raises(NotFound) as raised:
        await flows.widget(rt, other, flow_id, "pause")
    assert raised.value.code == "FLOW_NOT_FOUND"
