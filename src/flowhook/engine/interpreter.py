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
from flowhook.engine.steps import Step
from flowhook.engine.widget import REMOTE_HANGUP, Outcome, Wait, Widget
from flowhook.errors import Code, FlowhookError
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


def _fail(
    state: ExecutionState, flow: CompiledFlow, reason: Code, message: str, now: float
) -> bool:
    """Record a failure; return True when the on_flow_complete entry should still run."""
    if state.error_reason is None:
        state.error_reason = reason
        state.error_message = message
    if state.phase != Phase.COMPLETE and flow.entry.on_flow_complete and reason != Code.STEP_LIMIT:
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
    """Run until the execution is COMPLETED/FAILED or WAITING (``wake_at`` set).

    Each turn: find the next widget (``_next_widget``: the phase's entry, the step limit,
    a widget edited away), make the last side effect durable before a new one starts, run
    the widget into a step-log entry (``_run_widget``), and follow its exit, its wait or
    its error (``_follow``)."""
    clock = services.clock
    _enter(state, flow, clock())
    max_steps = services.settings.max_steps
    unsaved = False  # a side effect ran since the last checkpoint
    while True:
        widget = _next_widget(state, flow, max_steps, clock)
        if widget is None:
            return state
        if unsaved and widget.side_effect:
            await checkpoint(state)
            unsaved = False
        step, outcome, error = await _run_widget(state, widget, account, services)
        if not _follow(state, flow, widget, step, outcome, error, clock):
            return state
        if error is None:  # a widget that failed is not taken as having had its effect
            unsaved = unsaved or widget.side_effect


def _enter(state: ExecutionState, flow: CompiledFlow, now: float) -> None:
    """Start a pending execution, or leave the widget whose wait is over by the exit it
    asked for."""
    if not state.started:
        start(state, flow, now)
    elif state.status == Status.WAITING:
        assert state.cursor is not None
        exit_name = state.resume_exit or "next"
        state.status = Status.RUNNING
        state.wake_at = None
        state.resume_exit = None
        if state.cursor in flow.widgets:  # else the flow was edited: the loop fails it
            state.cursor = flow.target(state.cursor, exit_name)


def _next_widget(
    state: ExecutionState, flow: CompiledFlow, max_steps: int, clock: Callable[[], float]
) -> Widget[Any] | None:
    """The widget at the cursor, or None once the execution has ended: at the end of the
    main path (then the ``on_flow_complete`` entry, if any, comes first), at the step
    limit, or at a widget the flow no longer has (edited under a running execution)."""
    while True:
        if state.cursor is None:
            if state.phase != Phase.COMPLETE and flow.entry.on_flow_complete:
                state.phase = Phase.COMPLETE
                state.cursor = flow.entry.on_flow_complete
                continue
            finish(state, clock())
            return None
        if state.step_count >= max_steps:
            _fail(state, flow, Code.STEP_LIMIT, f"stopped after {max_steps} steps", clock())
            return None
        widget = flow.widgets.get(state.cursor)
        if widget is not None:
            return widget
        if not _fail(state, flow, Code.UNKNOWN_WIDGET, f"no widget {state.cursor!r}", clock()):
            return None


async def _run_widget(
    state: ExecutionState, widget: Widget[Any], account: AccountInfo, services: Services
) -> tuple[Step, Outcome | None, FlowhookError | None]:
    """Run one widget: its step-log entry, and its outcome or the error it ended with (a
    crash of the widget itself becomes ``INTERNAL_ERROR``)."""
    ctx = StepContext(state, widget.id, account, services)
    step: Step = {"widget": widget.id, "type": widget.type, "at": services.clock()}
    t0 = time.perf_counter()
    outcome: Outcome | None = None
    error: FlowhookError | None = None
    try:
        outcome = await widget.run(ctx)
    except FlowhookError as exc:
        error = exc
    except Exception as exc:
        log.exception("widget crashed", widget=widget.id, type=widget.type)
        error = FlowhookError(f"{type(exc).__name__}: {exc}", code=Code.INTERNAL_ERROR)
    state.step_count += 1
    step["duration_ms"] = round((time.perf_counter() - t0) * 1000, 3)
    if ctx.changed:
        step["changed"] = ctx.changed
    if ctx.warnings:
        step["warnings"] = ctx.warnings
    if ctx.log:
        # the keys and their order of ``{**step, **ctx.log}``, without the copy (WidgetLog's
        # keys are Step's: mypy asks an update for a partial Step)
        step.update(ctx.log)  # type: ignore[typeddict-item]
    return step, outcome, error


def _follow(
    state: ExecutionState,
    flow: CompiledFlow,
    widget: Widget[Any],
    step: Step,
    outcome: Outcome | None,
    error: FlowhookError | None,
    clock: Callable[[], float],
) -> bool:
    """Log the step and move the cursor by its outcome; False when the run stops here
    (the execution waits or has ended)."""
    if error is not None:
        step["error"] = {"code": error.code, "message": error.message}
        _log_step(state, step)
        return _fail(state, flow, error.code, error.message, clock())
    if isinstance(outcome, Wait):
        step["exit"] = f"wait→{outcome.exit}"
        _log_step(state, step)
        state.status = Status.WAITING
        state.wake_at = outcome.until
        state.resume_exit = outcome.exit
        return False
    assert outcome is not None
    step["exit"] = outcome.name
    _log_step(state, step)
    state.scratch.pop(widget.id, None)
    if outcome.name == REMOTE_HANGUP:
        state.cursor = _remote_hangup(state, flow)
    else:
        state.cursor = flow.target(widget.id, outcome.name)
    return True


def _remote_hangup(state: ExecutionState, flow: CompiledFlow) -> str | None:
    """Where the caller's hangup leads: the ``on_remote_hangup`` entry once, from the main
    path; anywhere else (or without that entry) the current phase ends."""
    if state.phase == Phase.MAIN and flow.entry.on_remote_hangup:
        state.phase = Phase.HANGUP
        return flow.entry.on_remote_hangup
    return None


def _log_step(state: ExecutionState, step: Step) -> None:
    if len(state.steps) < MAX_LOGGED_STEPS:
        state.steps.append(step)
