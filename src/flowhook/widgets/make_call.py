"""Make Call: ring a number and wait, durably, for the outcome — ``answered``, ``busy``,
``no_answer`` (nobody answered within ``ring_timeout_s``) or ``failed`` (rejected, a network
failure, a number that is not one). When the number is not answered, each of
``alternates`` is tried in turn; the exit is the last one's outcome. Every attempt is a leg
of its own in ``callDetails``.

The number is ``to`` (default ``$call.dnis.number``, the customer of an outbound flow) or a
variable or literal; the caller id is ``cli`` (default ``$call.cli.number``). The answered
leg becomes the execution's call (``$call.*``) unless the execution already has one (an
inbound caller): then it is one more leg (an agent, a transfer target).
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

from pydantic import Field

from flowhook.channels.adapter import NO_ANSWER, TEMPORARY_FAILURE
from flowhook.channels.service import ANSWERED, ENDED, Channels, leg_record
from flowhook.domain.numbers import normalise
from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig, register
from flowhook.errors import ValidationFailed
from flowhook.widgets._call import (
    CALL_ID,
    exit_or_next,
    leg_of,
    loop_back,
    publish,
    wait,
)

_OUTCOMES = {"answer": "answered", "busy": "busy", "no_answer": "no_answer"}
_OUTCOMES.update(failed="failed", rejected="failed")


class MakeCallConfig(WidgetConfig):
    to: str = Field("$call.dnis.number", max_length=200)
    alternates: list[str] = Field(default_factory=list, max_length=10)
    cli: str | None = Field(None, max_length=200)
    ring_timeout_s: float = Field(30.0, gt=0, le=600)
    callee_type: str = Field("VISITOR", pattern=r"^[A-Z_]{1,32}$")


@register
class MakeCall(Widget[MakeCallConfig]):
    type = "make_call"
    Config: ClassVar[builtins.type[WidgetConfig]] = MakeCallConfig
    side_effect = True

    def __init__(self, widget_id: str, config: MakeCallConfig) -> None:
        loop_back(widget_id, config)
        super().__init__(widget_id, config)

    @classmethod
    def exit_names(cls, config: Any) -> set[str]:
        return {"answered", "busy", "no_answer", "failed"}

    async def run(self, ctx: StepContext) -> Outcome:
        mine: dict[str, Any] | None = ctx.state.scratch.get(self.id)
        if mine is None:
            return await self._dial(ctx, 0)
        channels = ctx.services.get(Channels)
        row = await channels.call(str(mine["call_id"]))
        if row is None:  # lost with a database restored from backup: try the next number
            return await self._next(ctx, int(mine["index"]), "failed")
        leg = leg_of(ctx, row.id)
        now = ctx.now()
        ended = [e for e in row.events if float(e["at"]) <= now and e["kind"] in _OUTCOMES]
        if ended:
            event = ended[0]
            at = float(event["at"])
            if event["kind"] == "answer":
                await channels.set_status(row.id, status=ANSWERED, answered_at=at)
                leg["connect"] = at
                if not isinstance(ctx.state.variables.get(CALL_ID), str):
                    ctx.set_system(CALL_ID, row.id)
                    ctx.set_system("call.dnis.number", row.dnis)
                    ctx.set_system("call.cli.number", row.cli)
                    publish(ctx, leg)
                return exit_or_next(self.config, "answered")
            cause = str(event.get("cause") or TEMPORARY_FAILURE)
            await self._end(channels, row.id, leg, at, cause)
            return await self._next(ctx, int(mine["index"]), _OUTCOMES[event["kind"]])
        if now >= float(mine["deadline"]):
            await channels.voice(ctx.account).hangup(row)
            await self._end(channels, row.id, leg, now, NO_ANSWER)
            return await self._next(ctx, int(mine["index"]), "no_answer")
        return wait(ctx, float(mine["deadline"]), row)

    @staticmethod
    async def _end(
        channels: Channels, call_id: str, leg: dict[str, Any], at: float, cause: str
    ) -> None:
        leg.update(end=at, hangup_cause=cause, remote_hangup=False)
        await channels.set_status(call_id, status=ENDED, ended_at=at, hangup_cause=cause)

    async def _next(self, ctx: StepContext, index: int, outcome: str) -> Outcome:
        ctx.log.setdefault("attempts", []).append(outcome)
        if index + 1 < len(self._numbers()):
            return await self._dial(ctx, index + 1)
        ctx.state.scratch.pop(self.id, None)
        return exit_or_next(self.config, outcome) if outcome == "answered" else Exit(outcome)

    def _numbers(self) -> list[str]:
        return [self.config.to, *self.config.alternates]

    async def _dial(self, ctx: StepContext, index: int) -> Outcome:
        raw = ctx.render(self._numbers()[index])
        try:
            number = normalise(raw, ctx.account.default_region)
        except ValidationFailed:
            ctx.warn(f"{raw!r} is not a phone number")
            return await self._next(ctx, index, "failed")
        cli_raw = ctx.render(self.config.cli) if self.config.cli else ctx.get("call.cli.number")
        cli = str(cli_raw or "")
        channels = ctx.services.get(Channels)
        now = ctx.now()
        row = await channels.new_leg(
            ctx.account, ctx.state.uuid, incoming=False, cli=cli, dnis=number
        )
        ctx.state.call_legs.append(leg_record(row, now, self.config.callee_type))
        await channels.voice(ctx.account).dial(row)
        row = await channels.call(row.id) or row
        deadline = now + ctx.settings.scaled(self.config.ring_timeout_s)
        ctx.state.scratch[self.id] = {"index": index, "call_id": row.id, "deadline": deadline}
        ctx.log.setdefault("dialled", []).append(number)
        return wait(ctx, deadline, row)
