"""Answer Call: answer the inbound call that started the execution; its leg gets its
connect time and the simulator's script starts (keys, the caller's hangup).

A caller who hung up while it rang takes the flow to ``on_remote_hangup``.
"""

from __future__ import annotations

from typing import Any

from flowhook.channels.service import ANSWERED, Channels
from flowhook.domain.call import CallRow
from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, WidgetConfig, register
from flowhook.widgets._call import CallWidget, publish


class AnswerCallConfig(WidgetConfig):
    pass


@register
class AnswerCall(CallWidget[AnswerCallConfig]):
    type = "answer_call"
    Config = AnswerCallConfig

    async def on_call(self, ctx: StepContext, row: CallRow, leg: dict[str, Any]) -> Outcome:
        if row.status == ANSWERED or leg.get("connect"):
            return Exit("next")  # answered already (a replay after a crash)
        channels = ctx.services.get(Channels)
        now = ctx.now()
        await channels.voice(ctx.account).answer(row)
        await channels.set_status(row.id, status=ANSWERED, answered_at=now)
        leg["connect"] = now
        publish(ctx, leg)
        return Exit("next")
