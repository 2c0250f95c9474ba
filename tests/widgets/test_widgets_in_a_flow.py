"""The pure widgets wired in a real flow and run by the interpreter: exits, waits, the end."""

import pytest

from flowhook.domain.account import AccountInfo
from flowhook.engine.context import Services
from flowhook.engine.flow import compile_flow
from flowhook.engine.interpreter import advance
from flowhook.engine.state import ExecutionState, Status
from flowhook.errors import ValidationFailed
from flowhook.settings import Settings

RETRY_FLOW = {
    "name": "retry_demo",
    "entry": {"start": "init"},
    "widgets": {
        "init": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.total", "value": 0}],
            "next": "tries",
        },
        "tries": {
            "type": "counter",
            "limit": 3,
            "variable": "attempts",
            "exits": {"under": "add", "over": "check"},
        },
        "add": {
            "type": "operation",
            "operation": "add",
            "left": "$flow.key.total",
            "right": "10",
            "target": "$flow.key.total",
            "next": "pause",
        },
        "pause": {"type": "delay", "seconds": 60, "next": "tries"},
        "check": {
            "type": "decision",
            "branches": [
                {
                    "exit": "big",
                    "conditions": [{"left": "$flow.key.total", "op": ">=", "right": "30"}],
                }
            ],
            "exits": {"big": "done"},
        },
        "done": {"type": "end", "next": "never"},
        "never": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.reached", "value": True}],
        },
    },
}


async def test_a_retry_loop_counts_waits_and_ends(epoch):
    flow = compile_flow(RETRY_FLOW)
    clock = [epoch]
    services = Services(settings=Settings(), clock=lambda: clock[0])
    state = ExecutionState(uuid="u1", account_id="a", flow_id="f", version="test", request_id="r")
    account = AccountInfo(id="a", timezone="Asia/Kolkata")

    waits = 0
    await advance(state, flow, account, services)
    while state.status == Status.WAITING:
        waits += 1
        assert state.wake_at == clock[0] + 60
        clock[0] = state.wake_at
        await advance(state, flow, account, services)

    assert state.status == Status.COMPLETED, state.error_message
    assert waits == 3
    assert state.variables["flow.key.total"] == 30
    assert state.variables["flow.key.attempts"] == 4
    assert "flow.key.reached" not in state.variables  # "end" ignores next
    assert [s["exit"] for s in state.steps if s["widget"] == "tries"] == [
        "under",
        "under",
        "under",
        "over",
    ]


async def test_a_widget_error_fails_the_execution_with_its_code(epoch):
    flow = compile_flow(
        {
            "name": "broken",
            "entry": {"start": "div"},
            "widgets": {
                "div": {
                    "type": "operation",
                    "operation": "divide",
                    "left": "1",
                    "right": "$flow.key.zero",
                    "target": "$flow.key.x",
                }
            },
        }
    )
    state = ExecutionState(
        uuid="u1",
        account_id="a",
        flow_id="f",
        version="test",
        request_id="r",
        variables={"flow.key.zero": 0},
    )
    await advance(state, flow, AccountInfo(id="a"), Services(Settings(), clock=lambda: epoch))
    assert state.status == Status.FAILED
    assert state.error_reason == "DIVISION_BY_ZERO"


def test_config_errors_are_reported_with_the_widget_path():
    with pytest.raises(ValidationFailed) as caught:
        compile_flow(
            {
                "name": "bad",
                "entry": {"start": "op"},
                "widgets": {
                    "op": {"type": "operation", "operation": "divide", "target": "$flow.key.x"},
                    "dec": {
                        "type": "decision",
                        "branches": [
                            {"exit": "a", "conditions": [{"left": "1", "op": "is_empty"}]}
                        ],
                        "exits": {"b": "op"},
                    },
                },
            }
        )
    paths = {problem["path"] for problem in caught.value.details}
    assert paths == {"$.widgets.op.left", "$.widgets.op.right", "$.widgets.dec.exits.b"}
