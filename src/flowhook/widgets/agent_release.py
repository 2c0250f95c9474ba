"""Agent Release: free the direct-dial agent this execution was allotted (the agent is
then idle from now on and owed to the call that has waited longest). Without an agent it
does nothing. Executions that end without it are released by the dialer's completion
hook, so this widget only matters when a flow goes on after the agent's part is done.
"""

from __future__ import annotations

from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig, register
from flowhook.internal.dialer import Dialer


class AgentReleaseConfig(WidgetConfig):
    pass


@register
class AgentRelease(Widget[AgentReleaseConfig]):
    type = "agent_release"
    Config = AgentReleaseConfig
    side_effect = True

    async def run(self, ctx: StepContext) -> Outcome:
        agent = await ctx.services.get(Dialer).release(ctx.state.uuid)
        if agent is not None:
            ctx.log["agent"] = {"id": agent.id, "released": True}
        return Exit()
