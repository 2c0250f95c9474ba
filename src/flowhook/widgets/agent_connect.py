"""Agent Connect: connect the caller to a direct-dial agent — the allotment of
``agent_allot`` (the free agent idle longest, paused agents skipped, a FIFO queue while
none is free) followed by ``make_call`` to the agent's number as a ``HARD_PHONE`` leg.

Exits: ``connected`` (or ``next``) when the agent answered; ``no_agent`` when no agent
became free within ``queue_timeout_s``; ``no_answer`` when the allotted agent did not
answer (busy, no answer, failed) — the agent is released then. Both waits are durable.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, Wait, Widget, WidgetConfig, register
from flowhook.internal.dialer import AGENT_NUMBER, Dialer
from flowhook.widgets._call import LOOP, exit_or_next, loop_back
from flowhook.widgets.agent_allot import AgentAllot, AgentAllotConfig
from flowhook.widgets.make_call import MakeCall, MakeCallConfig


class AgentConnectConfig(WidgetConfig):
    queue_timeout_s: float = Field(60.0, ge=0, le=86_400)
    retry_every_s: float = Field(5.0, gt=0, le=3_600)
    ring_timeout_s: float = Field(20.0, gt=0, le=600)


@register
class AgentConnect(Widget[AgentConnectConfig]):
    type = "agent_connect"
    Config = AgentConnectConfig
    side_effect = True

    def __init__(self, widget_id: str, config: AgentConnectConfig) -> None:
        loop_back(widget_id, config)
        super().__init__(widget_id, config)
        self._allot = AgentAllot(
            widget_id,
            AgentAllotConfig(
                type="agent_allot",
                queue_timeout_s=config.queue_timeout_s,
                retry_every_s=config.retry_every_s,
            ),
        )
        self._dial = MakeCall(
            widget_id,
            MakeCallConfig(
                type="make_call",
                to=f"${AGENT_NUMBER}",
                ring_timeout_s=config.ring_timeout_s,
                callee_type="HARD_PHONE",
            ),
        )

    @classmethod
    def exit_names(cls, config: Any) -> set[str]:
        return {"connected", "no_agent", "no_answer"}

    async def run(self, ctx: StepContext) -> Outcome:
        if self.id not in ctx.state.scratch:  # not ringing an agent yet: allot one
            allotted = await self._allot.run(ctx)
            if isinstance(allotted, Wait):
                return Wait(until=allotted.until, exit=LOOP)
            if allotted.name != "0":
                return Exit("no_agent")
        outcome = await self._dial.run(ctx)
        if isinstance(outcome, Wait):
            return Wait(until=outcome.until, exit=LOOP)
        if outcome.name in ("answered", "next"):
            return exit_or_next(self.config, "connected")
        await ctx.services.get(Dialer).release(ctx.state.uuid)
        for name in ("call.agent.dnis.number", "call.agent.id", "call.agent.name"):
            ctx.state.variables.pop(name, None)
        return Exit("no_answer")
