"""The step loop: run an execution's widgets until it finishes or waits.

The interpreter is pure engine: it knows no widget by name, no store and no HTTP. The
caller lends it a ``checkpoint`` coroutine (group-committed by the store). The state after a
widget with a side effect is made durable before the next side effect starts; waits and the
end are persisted by the caller, and the state goes with them. So a crash replays at most
the side effect that was running or had just returned (at least once, nothing skipped),
as a checkpoint right after each side effect would — widgets without side effects take
microseconds — and a flow with one call costs one write less.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from flowhook.domain.account import AccountInfo
from flowhook.engine.context import Services, StepContext
from flowhook.engine.flow import CompiledFlow
from flowhook.engine.state import ExecutionState, Phase, Status
from flowhook.engine.widget import REMOTE_HANGUP, Wait
from flowhook.errors import FlowhookError
from flowhook.logging import get_logger

log = get_logger(__name__)

Checkpoint = Callable[[ExecutionState], Awaitable[None]]
MAX_LOGGED_STEPS = 2_000


async def _no_checkpoint(_state: ExecutionState) -> None:
    return None


def start(state: ExecutionState, flow: CompiledFlow, now: float) -> None:
    """Mark a pending execution as started at the flow's start entry."""
    state.started = True
    state.status = Status.RUNNING
    state.started_at = now
    state.flow_name = flow.document.name
    state.cursor = flow.entry.start
    state.variables.setdefault("flow.syskey.phonon_uuid", state.uuid)
    state.variables.setdefault("flow.syskey.request_id", state.request_id)
    state.variables.setdefault("flow.syskey.flow_id", state.flow_id)


def finish(state: ExecutionState, now: float) -> None:
    """End the execution: FAILED when an error was recorded, else COMPLETED."""
    state.status = Status.FAILED if state.error_reason else Status.COMPLETED
    state.ended_at = now
    state.cursor = None
    state.wake_at = None


def _fail(state: ExecutionState, flow: CompiledFlow, reason: str, message: str, now: float) -> bool:
    """Record a failure; return True when the on_flow_complete entry should still run."""
    if state.error_reason is None:
        state.error_reason = reason
        state.error_message = message
    if state.phase != Phase.COMPLETE and flow.entry.on_flow_complete and reason != "STEP_LIMIT":
        state.phase = Phase.COMPLETE
        state.cursor = flow.entry.on_flow_complete
        return True
    finish(state, now)
    return False


async def advance(
    state: ExecutionState,
    flow: CompiledFlow,
    account: AccountInfo,
    services: Services,
    checkpoint: Checkpoint = _no_checkpoint,
) -> ExecutionState:
    """Run until the execution is COMPLETED/FAILED or WAITING (``wake_at`` set)."""
    clock = services.clock
    if not state.started:
        start(state, flow, clock())
    elif state.status == Status.WAITING:
        # the wait is over: leave the waiting widget by the exit it asked for
        assert state.cursor is not None
        exit_name = state.resume_exit or "next"
        state.status = Status.RUNNING
        state.wake_at = None
        state.resume_exit = None
        if state.cursor in flow.widgets:  # else the flow was edited: the loop fails it below
            state.cursor = flow.target(state.cursor, exit_name)
    max_steps = services.settings.max_steps
    unsaved = False  # a side effect ran since the last checkpoint

    while True:
        if state.cursor is None:
            if state.phase != Phase.COMPLETE and flow.entry.on_flow_complete:
                state.phase = Phase.COMPLETE
                state.cursor = flow.entry.on_flow_complete
                continue
            finish(state, clock())
            return state
        if state.step_count >= max_steps:
            _fail(state, flow, "STEP_LIMIT", f"stopped after {max_steps} steps", clock())
            return state
        widget = flow.widgets.get(state.cursor)
        if widget is None:  # a flow edited under a running execution
            if _fail(state, flow, "UNKNOWN_WIDGET", f"no widget {state.cursor!r}", clock()):
                continue
            return state

        if unsaved and widget.side_effect:
            await checkpoint(state)
            unsaved = False
        ctx = StepContext(state, widget.id, account, services)
        started = clock()
        t0 = time.perf_counter()
        step: dict[str, Any] = {"widget": widget.id, "type": widget.type, "at": started}
        error: FlowhookError | None = None
        try:
            outcome = await widget.run(ctx)
        except FlowhookError as exc:
            error = exc
        except Exception as exc:
            log.exception("widget crashed", widget=widget.id, type=widget.type)
            error = FlowhookError(f"{type(exc).__name__}: {exc}", code="INTERNAL_ERROR")
        state.step_count += 1
        step["duration_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        if ctx.changed:
            step["changed"] = ctx.changed
        if ctx.warnings:
            step["warnings"] = ctx.warnings
        step.update(ctx.log)
        if error is not None:
            step["error"] = {"code": error.code, "message": error.message}
            _log_step(state, step)
            if _fail(state, flow, error.code, error.message, clock()):
                continue
            return state

        if isinstance(outcome, Wait):
            step["exit"] = f"wait→{outcome.exit}"
            _log_step(state, step)
            state.status = Status.WAITING
            state.wake_at = outcome.until
            state.resume_exit = outcome.exit
            return state

        step["exit"] = outcome.name
        _log_step(state, step)
        state.scratch.pop(widget.id, None)
        unsaved = unsaved or widget.side_effect
        if outcome.name == REMOTE_HANGUP:
            state.cursor = _remote_hangup(state, flow)
            continue
        state.cursor = flow.target(widget.id, outcome.name)


def _remote_hangup(state: ExecutionState, flow: CompiledFlow) -> str | None:
    """Where the caller's hangup leads: the ``on_remote_hangup`` entry once, from the main
    path; anywhere else (or without that entry) the current phase ends."""
    if state.phase == Phase.MAIN and flow.entry.on_remote_hangup:
        state.phase = Phase.HANGUP
        return flow.entry.on_remote_hangup
    return None


def _log_step(state: ExecutionState, step: dict[str, Any]) -> None:
    if len(state.steps) < MAX_LOGGED_STEPS:
        state.steps.append(step)
