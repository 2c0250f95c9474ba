"""The simulator: the default adapter of every channel, what ``make run`` uses and what a
flow author tries a flow with before any phone is involved.

Voice: the outcome of each call is scripted (``VoiceScript``) — per number in the
account's simulator settings, drawn by probability, or the default — or given with an
inbound call (``POST /v1/sim/calls``). The script becomes events on the leg when the leg
starts ringing (outbound) or is answered (inbound): ringing ends ``answer_after_ms``
later, keys come ``after_ms`` after the answer, the remote party hangs up
``hangup_after_s`` after it. Every time is multiplied by ``Settings.time_scale``, so tests
run a two-minute call in a fraction of a second. Live key presses and hangups posted to
the API are added to the same log.

SMS and e-mail: handed over at once (``SENT_TO_QUEUE``); the scripted delivery report
(per recipient, else the default) arrives ``report_after_ms`` later. A message handed over
again with the same id is accepted once (the simulated gateway dedupes on the id). The report is a
timer of this process — a simulator's report lost with a crashed process is a report a
real network can lose too.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from flowhook.channels.adapter import (
    CALL_REJECTED,
    NO_ANSWER,
    TEMPORARY_FAILURE,
    USER_BUSY,
    EmailAdapter,
    Handed,
    OutgoingMessage,
    SmsAdapter,
    VoiceAdapter,
)
from flowhook.channels.config import VoiceScript
from flowhook.channels.registry import register
from flowhook.domain.call import CallRow

_CAUSES = {"busy": USER_BUSY, "no_answer": NO_ANSWER, "failed": TEMPORARY_FAILURE}
_CAUSES["rejected"] = CALL_REJECTED
_tasks: set[asyncio.Task[Any]] = set()  # report timers, kept until they have run
_accepted: dict[str, Handed] = {}
"""Messages the simulated gateway accepted in this process, by id: one handed over again
(the same id after a replay) is accepted once, as a gateway that dedupes would."""
_ACCEPTED_KEPT = 100_000


def script_for(call: CallRow, settings: Any) -> VoiceScript:
    """The leg's script: given with the call, else the number's, else drawn, else default."""
    if call.script is not None:
        return VoiceScript.model_validate(call.script)
    sim = settings.simulator
    number = call.dnis
    for key in (number, number.lstrip("+"), "+" + number):
        if key in sim.calls:
            return sim.calls[key]  # type: ignore[no-any-return]
    if sim.outcomes:
        outcomes = list(sim.outcomes)
        drawn = random.Random(call.id).choices(outcomes, [sim.outcomes[o] for o in outcomes])[0]
        return sim.default.model_copy(update={"outcome": drawn})  # type: ignore[no-any-return]
    return sim.default  # type: ignore[no-any-return]


def in_call_events(script: VoiceScript, answered_at: float, scale: float) -> list[dict[str, Any]]:
    """Key presses and the remote hangup, timed from the answer."""
    events: list[dict[str, Any]] = [
        {"kind": "dtmf", "key": p.key, "at": answered_at + p.after_ms / 1000 * scale}
        for p in script.presses()
    ]
    if script.hangup_after_s is not None:
        events.append({"kind": "hangup", "at": answered_at + script.hangup_after_s * scale})
    return sorted(events, key=lambda e: float(e["at"]))


@register("voice", "simulator")
class SimulatedVoice(VoiceAdapter):
    name = "simulator"

    async def dial(self, call: CallRow) -> None:
        script = script_for(call, self.context.options)
        scale = self.context.settings.time_scale
        at = self.context.clock() + script.answer_after_ms / 1000 * scale
        if script.outcome == "answer":
            events = [{"kind": "answer", "at": at}, *in_call_events(script, at, scale)]
        elif script.outcome == "no_answer":
            events = []  # it rings until the caller gives up
        else:
            events = [{"kind": script.outcome, "at": at, "cause": _CAUSES[script.outcome]}]
        await self.context.channels.add_events(call.id, events)

    async def answer(self, call: CallRow) -> None:
        script = script_for(call, self.context.options)
        scale = self.context.settings.time_scale
        events = in_call_events(script, self.context.clock(), scale)
        if events:
            await self.context.channels.add_events(call.id, events)

    async def play(self, call: CallRow, prompt: str) -> None:
        return None  # heard by nobody; the widget records what was played

    async def hangup(self, call: CallRow) -> None:
        return None

    async def record(self, call: CallRow, name: str) -> str:
        return f"sim://recordings/{call.id}/{name}"  # nothing is recorded: a name to show


class _SimulatedMessages:
    """Shared by the SMS and e-mail simulators: queue it, report later as scripted."""

    context: Any
    channel: str

    def _scripted(self, to: str) -> str:
        sim = self.context.options.simulator
        reports = sim.sms_reports if self.channel == "sms" else sim.email_reports
        default = sim.sms_report if self.channel == "sms" else sim.email_report
        return str(reports.get(to, reports.get(to.lstrip("+"), default)))

    async def send(self, message: OutgoingMessage) -> Handed:
        before = _accepted.get(message.id)
        if before is not None:  # the same message again: no second report
            return before
        status = self._scripted(message.to)
        delay = self.context.options.simulator.report_after_ms / 1000
        channels = self.context.channels

        async def report() -> None:
            await asyncio.sleep(self.context.settings.scaled(delay))
            await channels.report(message.id, status, "simulated delivery report")

        task = asyncio.get_running_loop().create_task(report())
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
        handed = Handed("SENT_TO_QUEUE", external_id=message.id, detail="simulated")
        if len(_accepted) >= _ACCEPTED_KEPT:
            _accepted.pop(next(iter(_accepted)))
        _accepted[message.id] = handed
        return handed


@register("sms", "simulator")
class SimulatedSms(_SimulatedMessages, SmsAdapter):
    name = "simulator"
    channel = "sms"


@register("email", "simulator")
class SimulatedEmail(_SimulatedMessages, EmailAdapter):
    name = "simulator"
    channel = "email"
