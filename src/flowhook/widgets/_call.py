"""What the voice widgets share: finding the execution's live call, keeping its leg record
(``state.call_legs``, the payload's ``callDetails``) and ``$call.*`` in step, and waiting on
the call durably.

A voice widget that waits (for ringing to end, for a key) returns a ``Wait`` whose exit
loops back to itself, so each wake-up runs it again; what it needs between runs lives in
``state.scratch[widget id]``. It wakes when its timeout or the next scripted event is due,
when an event is posted (the channel layer makes the execution due at once) and, as a
safety net for an event stored while the widget was reading the log, every
``RECHECK_S`` seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, TypeVar

from flowhook.channels.service import ENDED, Channels, end_leg, hangup_event
from flowhook.domain.call import CallRow
from flowhook.engine.context import StepContext
from flowhook.engine.flow import END
from flowhook.engine.state import Phase
from flowhook.engine.widget import REMOTE_HANGUP, Exit, Outcome, Wait, Widget, WidgetConfig
from flowhook.errors import Code, WidgetError

CALL_ID = "call.id"
LOOP = "_channel_wait"
"""Internal exit back to the waiting widget (added after validation, never user-set)."""
RECHECK_S = 5.0

C = TypeVar("C", bound=WidgetConfig)


def loop_back(widget_id: str, config: WidgetConfig) -> None:
    config.exits = {**config.exits, LOOP: widget_id}


def wait(ctx: StepContext, until: float, row: CallRow | None = None) -> Wait:
    """Wait until ``until``, the next scripted event on ``row`` or the recheck, if sooner."""
    now = ctx.now()
    times = [until, now + RECHECK_S]
    if row is not None:
        times += [float(e["at"]) for e in row.events if float(e["at"]) > now]
    return Wait(until=min(times), exit=LOOP)


def exit_or_next(config: WidgetConfig, name: str) -> Exit:
    """``name`` when it is connected, else ``next``: a success exit need not be wired."""
    return Exit(name if name in config.exits else "next")


def leg_of(ctx: StepContext, call_id: str) -> dict[str, Any]:
    for leg in ctx.state.call_legs:
        if leg.get("call_id") == call_id:
            return leg
    raise WidgetError(f"no record of call {call_id}", code=Code.NO_CALL)


def publish(ctx: StepContext, leg: dict[str, Any]) -> None:
    """``$call.*`` from the execution's call leg."""
    tz = ctx.tz()

    def iso(value: Any) -> str | None:
        if not isinstance(value, int | float):
            return None
        return datetime.fromtimestamp(value, tz).isoformat(timespec="milliseconds")

    ctx.set_system("call.cdr", leg.get("cdr_id"))
    ctx.set_system("call.start", iso(leg.get("start")))
    ctx.set_system("call.connect", iso(leg.get("connect")))
    ctx.set_system("call.hangup", iso(leg.get("end")))
    if leg.get("hangup_cause") is not None:
        ctx.set_system("call.isdn", str(leg["hangup_cause"]))
    connect, end = leg.get("connect"), leg.get("end")
    if isinstance(connect, int | float) and isinstance(end, int | float):
        ctx.set_system("call.duration", str(round((end - connect) * 1000)))


async def live_call(ctx: StepContext) -> tuple[CallRow, dict[str, Any]] | Exit:
    """The execution's call while it is up; else the exit to take: the remote hangup
    (once, on the main path) or the end of the phase (the call is over)."""
    call_id = ctx.state.variables.get(CALL_ID)
    if not isinstance(call_id, str):
        raise WidgetError(
            "this execution has no call (answer_call or make_call first)", code=Code.NO_CALL
        )
    channels = ctx.services.get(Channels)
    row = await channels.call(call_id)
    if row is None:
        raise WidgetError(f"call {call_id} is not in the store", code=Code.NO_CALL)
    leg = leg_of(ctx, call_id)
    now = ctx.now()
    if hangup_event(row, now) is not None and not leg.get("end"):
        await end_leg(channels, ctx.account, row, leg, now)
        publish(ctx, leg)
        ctx.log["call"] = {"remote_hangup": True}
        return Exit(REMOTE_HANGUP if ctx.state.phase == Phase.MAIN else END)
    if row.status == ENDED or leg.get("end"):
        ctx.log["call"] = {"ended": True}
        return Exit(END)
    return row, leg


def presses(row: CallRow, since: float, now: float) -> list[dict[str, Any]]:
    """Key presses after ``since`` that are due by ``now``, in time order."""
    found = [e for e in row.events if e.get("kind") == "dtmf" and since < float(e["at"]) <= now]
    return sorted(found, key=lambda e: float(e["at"]))


def record_press(leg: dict[str, Any], press: dict[str, Any], label: str = "") -> None:
    leg.setdefault("dtmf", []).append(
        {"key": str(press["key"]), "event_time": float(press["at"]), "label": label}
    )
    leg["heard_until"] = float(press["at"])


def listening_since(leg: dict[str, Any], now: float) -> float:
    """Where a menu's keys start: after the last key a widget took from this leg, so keys
    the caller types ahead (during a prompt, before the menu began) are not lost."""
    since = leg.get("heard_until", leg.get("connect"))
    return float(since) if isinstance(since, int | float) else now


class CallWidget(Widget[C]):
    """A widget that acts on the execution's live call: ``on_call`` runs while the call is
    up; otherwise the widget leaves by the exit ``live_call`` gives (the remote hangup, or
    the end of the phase). A ``waits`` widget loops back to itself while it waits."""

    side_effect = True
    waits: ClassVar[bool] = False

    def __init__(self, widget_id: str, config: C) -> None:
        if self.waits:
            loop_back(widget_id, config)
        super().__init__(widget_id, config)

    async def run(self, ctx: StepContext) -> Outcome:
        live = await live_call(ctx)
        if isinstance(live, Exit):
            self.call_over(ctx, live)
            return live
        return await self.on_call(ctx, *live)

    async def on_call(self, ctx: StepContext, row: CallRow, leg: dict[str, Any]) -> Outcome:
        raise NotImplementedError

    def call_over(self, ctx: StepContext, exit: Exit) -> None:
        """The call is over (``exit`` is how the widget leaves): keep what it had made."""
