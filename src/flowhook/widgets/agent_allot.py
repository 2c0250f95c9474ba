"""Agent Allot: give a dialer call a direct-dial agent, the one idle longest that is
neither paused nor busy, and put the agent's number in ``$call.agent.dnis.number`` (the
number a voice channel's Make Call dials for the agent leg).

Exit ``0``: an agent was allotted. When none is free the call joins the account's FIFO
queue and the widget waits durably, retrying every ``retry_every_s`` (sooner when an
agent is freed: the dialer makes the head of the queue due at once); after
``queue_timeout_s`` it leaves the queue by exit ``1``. Each retry is one step in the
step log. The allotment is idempotent per execution, so a replay after a crash keeps
the same agent. See ``flowhook.internal.dialer`` for the rules.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, Wait, Widget, WidgetConfig, register
from flowhook.internal.dialer import AGENT_ID, AGENT_NAME, AGENT_NUMBER, QUEUED_AT, Dialer

RETRY_EXIT = "_queue_retry"
"""Internal exit that leads back to this widget; the engine resumes a wait through it."""


class AgentAllotConfig(WidgetConfig):
    queue_timeout_s: float = Field(60.0, ge=0, le=86_400)
    retry_every_s: float = Field(5.0, gt=0, le=3_600)


@register
class AgentAllot(Widget[AgentAllotConfig]):
    type = "agent_allot"
    Config = AgentAllotConfig
    side_effect = True

    def __init__(self, widget_id: str, config: AgentAllotConfig) -> None:
        # A durable wait resumes by an exit of the waiting widget; this one loops back so
        # the retry runs the allotment again (added after validation, never user-set).
        config.exits = {**config.exits, RETRY_EXIT: widget_id}
        super().__init__(widget_id, config)

    @classmethod
    def exit_names(cls, config: Any) -> set[str]:
        return {"0", "1"}

    async def run(self, ctx: StepContext) -> Outcome:
        dialer = ctx.services.get(Dialer)
        now = ctx.now()
        queued_at = ctx.state.variables.get(QUEUED_AT)
        if not isinstance(queued_at, int | float):
            queued_at = now
            ctx.set_system(QUEUED_AT, now)
        deadline = queued_at + ctx.settings.scaled(self.config.queue_timeout_s)
        agent = await dialer.allot(ctx.account.id, ctx.state.uuid, queue_until=deadline)
        if agent is not None:
            ctx.state.variables.pop(QUEUED_AT, None)
            ctx.set_system(AGENT_NUMBER, agent.cli)
            ctx.set_system(AGENT_ID, agent.id)
            ctx.set_system(AGENT_NAME, agent.name)
            ctx.log["agent"] = {"id": agent.id, "cli": agent.cli, "waited_s": now - queued_at}
            return Exit("0")
        if now >= deadline:
            await dialer.leave_queue(ctx.state.uuid)
            ctx.state.variables.pop(QUEUED_AT, None)
            ctx.log["agent"] = {"timeout": True, "waited_s": now - queued_at}
            return Exit("1")
        retry_at = min(deadline, now + ctx.settings.scaled(self.config.retry_every_s))
        ctx.log["agent"] = {"queued": True}
        return Wait(until=retry_at, exit=RETRY_EXIT)
