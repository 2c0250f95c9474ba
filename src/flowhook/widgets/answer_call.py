"""Answer Call: answer the inbound call that started the execution; its leg gets its
connect time and the simulator's script starts (keys, the caller's hangup).

A caller who hung up while it rang takes the flow to ``on_remote_hangup``.
"""

from __future__ import annotations

from flowhook.channels.service import ANSWERED, Channels
from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig, register
from flowhook.widgets._call import live_call, publish


class AnswerCallConfig(WidgetConfig):
    pass


@register
class AnswerCall(Widget[AnswerCallConfig]):
    type = "answer_call"
    Config = AnswerCallConfig
    side_effect = True

    async def run(self, ctx: StepContext) -> Outcome:
        live = await live_call(ctx)
        if isinstance(live, Exit):
            return live
        row, leg = live
        if row.status == ANSWERED or leg.get("connect"):
            return Exit("next")  # answered already (a replay after a crash)
        channels = ctx.services.get(Channels)
        now = ctx.now()
        await channels.voice(ctx.account).answer(row)
        await channels.set_status(row.id, status=ANSWERED, answered_at=now)
        leg["connect"] = now
        publish(ctx, leg)
        return Exit("next")
