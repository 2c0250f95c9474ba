"""Hang Up: end the call (cause 16, normal clearing, by us). The flow goes on by ``next``
if connected, e.g. to send an SMS after the call."""

from __future__ import annotations

from flowhook.channels.service import Channels, end_leg
from flowhook.engine.context import StepContext
from flowhook.engine.widget import REMOTE_HANGUP, Exit, Outcome, Widget, WidgetConfig, register
from flowhook.widgets._call import live_call, publish


class HangupConfig(WidgetConfig):
    pass


@register
class Hangup(Widget[HangupConfig]):
    type = "hangup"
    Config = HangupConfig
    side_effect = True

    async def run(self, ctx: StepContext) -> Outcome:
        live = await live_call(ctx)
        if isinstance(live, Exit):
            return live if live.name == REMOTE_HANGUP else Exit("next")
        row, leg = live
        await end_leg(ctx.services.get(Channels), ctx.account, row, leg, ctx.now())
        publish(ctx, leg)
        return Exit("next")
