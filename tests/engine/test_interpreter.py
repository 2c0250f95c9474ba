"""The step loop without a server: paths through a flow, the step guard, the complete
phase, durable waits and what each step records."""

from __future__ import annotations

from typing import Any

import pytest

from flowhook.domain.account import AccountInfo
from flowhook.engine.context import Services
from flowhook.engine.flow import compile_flow
from flowhook.engine.interpreter import advance
from flowhook.engine.state import ExecutionState, Phase, Status
from flowhook.settings import Settings
from flowhook.widgets.store_variable import StoreVariable

T0 = 1_700_000_000.0


class Clock:
    """A clock that only moves when the test says so."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def store(variable: str, value: Any, next_: str | None = None) -> dict[str, Any]:
    widget: dict[str, Any] = {
        "type": "store_variable",
        "assignments": [{"variable": variable, "value": value}],
    }
    if next_:
        widget["next"] = next_
    return widget


def flow_doc(widgets: dict[str, Any], start: str = "a", **entry: str) -> dict[str, Any]:
    return {"name": "test_flow", "entry": {"start": start, **entry}, "widgets": widgets}


def new_state(**variables: Any) -> ExecutionState:
    state = ExecutionState(
        uuid="exec-1", account_id="acct", flow_id="flow1234", version="test", request_id="req-1"
    )
    state.variables.update(variables)
    return state


async def run(
    doc: dict[str, Any],
    state: ExecutionState | None = None,
    *,
    clock: Clock | None = None,
    **settings: Any,
) -> ExecutionState:
    services = Services(settings=Settings(**settings), clock=clock or Clock())
    return await advance(state or new_state(), compile_flow(doc), AccountInfo(id="acct"), services)


def path(state: ExecutionState) -> list[str]:
    return [step["widget"] for step in state.steps]


LINEAR = flow_doc(
    {
        "a": store("$flow.key.x", "1", "b"),
        "b": store("$flow.key.y", "${flow.key.x}-2", "c"),
        "c": {"type": "end"},
    }
)


async def test_linear_flow_runs_start_to_end_and_completes() -> None:
    state = await run(LINEAR)
    assert state.status == Status.COMPLETED
    assert path(state) == ["a", "b", "c"]
    assert state.variables["flow.key.y"] == "1-2"
    assert state.step_count == 3
    assert state.cursor is None
    assert state.error_reason is None
    assert state.started_at == T0 and state.ended_at == T0


async def test_start_records_the_system_keys_of_the_execution() -> None:
    state = await run(LINEAR)
    assert state.flow_name == "test_flow"
    assert state.variables["flow.syskey.phonon_uuid"] == "exec-1"
    assert state.variables["flow.syskey.request_id"] == "req-1"
    assert state.variables["flow.syskey.flow_id"] == "flow1234"


async def test_a_widget_without_next_ends_the_flow() -> None:
    state = await run(flow_doc({"a": store("$flow.key.x", 1)}))
    assert state.status == Status.COMPLETED
    assert path(state) == ["a"]


DECISION = flow_doc(
    {
        "a": {
            "type": "decision",
            "branches": [
                {
                    "exit": "high",
                    "conditions": [{"left": "$flow.key.score", "op": ">=", "right": "50"}],
                },
                {
                    "exit": "low",
                    "conditions": [{"left": "$flow.key.score", "op": "<", "right": "10"}],
                },
            ],
            "exits": {"high": "h", "low": "l", "default": "m"},
        },
        "h": store("$flow.key.segment", "high"),
        "l": store("$flow.key.segment", "low"),
        "m": store("$flow.key.segment", "middle"),
    }
)


@pytest.mark.parametrize(
    ("score", "branch", "segment"),
    [("75", "high", "high"), (50, "high", "high"), ("3", "low", "low"), ("20", "m", "middle")],
)
async def test_decision_takes_the_branch_whose_conditions_hold(
    score: Any, branch: str, segment: str
) -> None:
    state = await run(DECISION, new_state(**{"flow.key.score": score}))
    assert state.status == Status.COMPLETED
    assert state.variables["flow.key.segment"] == segment
    assert path(state) == ["a", branch[0]]
    assert state.steps[0]["exit"] == ("default" if branch == "m" else branch)


async def test_an_unconnected_exit_ends_the_flow() -> None:
    doc = flow_doc(
        {
            "a": {
                "type": "decision",
                "branches": [
                    {"exit": "yes", "conditions": [{"left": "1", "op": "==", "right": "1"}]}
                ],
                "exits": {"default": "b"},
            },
            "b": store("$flow.key.never", True),
        }
    )
    state = await run(doc)
    assert state.status == Status.COMPLETED
    assert path(state) == ["a"]
    assert "flow.key.never" not in state.variables


LOOP = flow_doc(
    {
        "a": store("$flow.key.total", 0, "count"),
        "count": {
            "type": "counter",
            "limit": 4,
            "variable": "laps",
            "exits": {"under": "add", "over": "done"},
        },
        "add": {
            "type": "operation",
            "operation": "add",
            "left": "$flow.key.total",
            "right": "5",
            "target": "$flow.key.total",
            "next": "count",
        },
        "done": {"type": "end"},
    }
)


async def test_a_loop_with_a_counter_runs_the_body_limit_times() -> None:
    state = await run(LOOP)
    assert state.status == Status.COMPLETED
    assert state.variables["flow.key.total"] == 20
    assert state.variables["flow.key.laps"] == 5
    assert path(state) == ["a"] + ["count", "add"] * 4 + ["count", "done"]
    assert state.counters == {"count": 5}


INFINITE = flow_doc(
    {
        "a": {
            "type": "operation",
            "operation": "add",
            "left": "$flow.key.n",
            "right": "1",
            "target": "$flow.key.n",
            "next": "a",
        }
    }
)


async def test_the_step_guard_fails_an_endless_loop_with_step_limit() -> None:
    state = await run(INFINITE, new_state(**{"flow.key.n": 0}), max_steps=25)
    assert state.status == Status.FAILED
    assert state.error_reason == "STEP_LIMIT"
    assert state.step_count == 25
    assert state.variables["flow.key.n"] == 25
    assert state.ended_at is not None


async def test_the_step_guard_defaults_to_a_thousand_steps() -> None:
    state = await run(INFINITE, new_state(**{"flow.key.n": 0}))
    assert state.error_reason == "STEP_LIMIT"
    assert state.step_count == 1000


async def test_the_step_guard_does_not_run_the_complete_entry_forever() -> None:
    doc = {**INFINITE, "entry": {"start": "a", "on_flow_complete": "a"}}
    state = await run(doc, new_state(**{"flow.key.n": 0}), max_steps=10)
    assert state.status == Status.FAILED
    assert state.error_reason == "STEP_LIMIT"
    assert state.step_count == 10


WITH_COMPLETE = flow_doc(
    {
        "a": store("$flow.key.x", "main", "b"),
        "b": {"type": "end"},
        "done": store("$flow.key.after", "$flow.key.x done", "done_end"),
        "done_end": {"type": "end"},
    },
    on_flow_complete="done",
)


async def test_on_flow_complete_runs_after_the_main_path() -> None:
    state = await run(WITH_COMPLETE)
    assert state.status == Status.COMPLETED
    assert path(state) == ["a", "b", "done", "done_end"]
    assert state.variables["flow.key.after"] == "main done"
    assert state.phase == Phase.COMPLETE


async def test_on_flow_complete_runs_after_a_failure_and_the_execution_stays_failed() -> None:
    doc = flow_doc(
        {
            "a": {
                "type": "operation",
                "operation": "divide",
                "left": "1",
                "right": "0",
                "target": "$flow.key.q",
                "next": "b",
            },
            "b": store("$flow.key.never", True),
            "done": store("$flow.key.reported", True),
        },
        on_flow_complete="done",
    )
    state = await run(doc)
    assert state.status == Status.FAILED
    assert state.error_reason == "DIVISION_BY_ZERO"
    assert path(state) == ["a", "done"]
    assert state.variables["flow.key.reported"] is True
    assert "flow.key.never" not in state.variables
    assert state.steps[0]["error"]["code"] == "DIVISION_BY_ZERO"
    assert "exit" not in state.steps[0]


async def test_a_failure_in_the_complete_phase_ends_the_execution() -> None:
    doc = flow_doc(
        {
            "a": store("$flow.key.x", 1),
            "done": {
                "type": "delay",
                "seconds": "$flow.key.not_a_number",
                "next": "after",
            },
            "after": store("$flow.key.never", True),
        },
        on_flow_complete="done",
    )
    state = await run(doc, new_state(**{"flow.key.not_a_number": "soon"}))
    assert state.status == Status.FAILED
    assert state.error_reason == "NOT_A_NUMBER"
    assert path(state) == ["a", "done"]


DELAYED = flow_doc(
    {
        "a": store("$flow.key.before", True, "wait"),
        "wait": {"type": "delay", "seconds": 30, "next": "b"},
        "b": store("$flow.key.after", True),
    }
)


async def test_a_delay_returns_waiting_with_wake_at_then_resumes_at_the_next_widget() -> None:
    clock = Clock()
    state = await run(DELAYED, clock=clock)
    assert state.status == Status.WAITING
    assert state.wake_at == T0 + 30
    assert state.cursor == "wait"
    assert path(state) == ["a", "wait"]
    assert state.steps[-1]["exit"] == "wait→next"
    assert "flow.key.after" not in state.variables

    # the state survives a round trip through JSON, as a checkpoint does
    restored = ExecutionState.from_json(state.to_json())
    clock.now = T0 + 30
    done = await run(DELAYED, restored, clock=clock)
    assert done.status == Status.COMPLETED
    assert done.variables["flow.key.after"] is True
    assert done.wake_at is None
    assert path(done) == ["a", "wait", "b"]
    assert done.ended_at == T0 + 30


async def test_the_time_scale_compresses_a_delay() -> None:
    state = await run(DELAYED, time_scale=0.001)
    assert state.wake_at == pytest.approx(T0 + 0.03)


async def test_the_step_log_records_type_time_duration_exit_changes_and_warnings() -> None:
    doc = flow_doc(
        {
            "a": store("$flow.key.greeting", "hi $flow.key.name, $flow.key.missing", "b"),
            "b": {"type": "end"},
        }
    )
    state = await run(doc, new_state(**{"flow.key.name": "Asha"}))
    first, second = state.steps
    assert first["widget"] == "a"
    assert first["type"] == "store_variable"
    assert first["at"] == T0
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert first["exit"] == "next"
    assert first["changed"] == {"$flow.key.greeting": "hi Asha, $flow.key.missing"}
    assert first["warnings"] == ["unknown variable $flow.key.missing left as written"]
    assert second == {
        "widget": "b",
        "type": "end",
        "at": T0,
        "duration_ms": second["duration_ms"],
        "exit": "end",
    }


async def test_a_side_effect_free_flow_is_not_checkpointed_by_the_interpreter() -> None:
    saved: list[int] = []

    async def checkpoint(state: ExecutionState) -> None:
        saved.append(state.step_count)

    services = Services(settings=Settings(), clock=Clock())
    await advance(new_state(), compile_flow(LINEAR), AccountInfo(id="acct"), services, checkpoint)
    assert saved == []


class SideEffectStore(StoreVariable):
    """A store_variable that claims to touch the outside world (as a webhook does)."""

    side_effect = True


async def test_the_state_after_a_side_effect_is_checkpointed_before_the_next_one_starts() -> None:
    doc = flow_doc(
        {
            "a": store("$flow.key.x", "1", "b"),
            "b": store("$flow.key.y", "2", "c"),
            "c": store("$flow.key.z", "3", "d"),
            "d": {"type": "end"},
        }
    )
    flow = compile_flow(doc)
    flow.widgets["b"] = SideEffectStore("b", flow.widgets["b"].config)
    flow.widgets["c"] = SideEffectStore("c", flow.widgets["c"].config)
    saved: list[tuple[str | None, int, Status, list[str]]] = []

    async def checkpoint(state: ExecutionState) -> None:
        steps = [step["widget"] for step in state.steps]
        saved.append((state.cursor, state.step_count, state.status, steps))

    services = Services(settings=Settings(), clock=Clock())
    state = await advance(new_state(), flow, AccountInfo(id="acct"), services, checkpoint)
    assert state.status == Status.COMPLETED
    # b's outcome is durable before c runs; c's goes with the end (saved by the caller)
    [(cursor, step_count, status, steps)] = saved
    assert (cursor, step_count, status) == ("c", 2, Status.RUNNING)
    assert steps == ["a", "b"]


async def test_a_side_effect_followed_only_by_pure_widgets_is_saved_with_the_end() -> None:
    flow = compile_flow(LINEAR)
    flow.widgets["b"] = SideEffectStore("b", flow.widgets["b"].config)
    saved: list[int] = []

    async def checkpoint(state: ExecutionState) -> None:
        saved.append(state.step_count)

    services = Services(settings=Settings(), clock=Clock())
    state = await advance(new_state(), flow, AccountInfo(id="acct"), services, checkpoint)
    assert state.status == Status.COMPLETED
    assert saved == []  # nothing else to protect: the caller persists the finished state


async def test_a_widget_removed_under_a_waiting_execution_fails_it_instead_of_crashing() -> None:
    clock = Clock()
    state = await run(DELAYED, clock=clock)
    assert state.status == Status.WAITING
    edited = flow_doc({"a": store("$flow.key.before", True, "b"), "b": store("$flow.key.x", 1)})
    clock.now = T0 + 30
    state = await run(edited, state, clock=clock)
    assert state.status == Status.FAILED
    assert state.error_reason == "UNKNOWN_WIDGET"


async def test_store_variable_stores_constants_as_written_and_objects_per_execution() -> None:
    doc = flow_doc(
        {
            "a": {
                "type": "store_variable",
                "assignments": [
                    {"variable": "$flow.key.name", "value": 'Asha "A" <&>'},
                    {"variable": "$flow.key.amount", "value": 42},
                    {"variable": "$flow.key.cart", "value": {"items": ["$flow.key.amount"]}},
                ],
                "next": "b",
            },
            "b": {"type": "end"},
        }
    )
    flow = compile_flow(doc)
    services = Services(settings=Settings(), clock=Clock())
    first, second = new_state(), new_state()
    for state in (first, second):
        await advance(state, flow, AccountInfo(id="acct"), services)
    assert first.variables["flow.key.name"] == 'Asha "A" <&>'
    assert first.variables["flow.key.amount"] == 42
    assert first.steps[0]["changed"] == {
        "$flow.key.name": 'Asha "A" <&>',
        "$flow.key.amount": 42,
        "$flow.key.cart": {"items": [42]},
    }
    first.variables["flow.key.cart"]["items"].append("changed by a later widget")
    assert second.variables["flow.key.cart"] == {"items": [42]}
