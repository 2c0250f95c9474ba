"""Record: record the caller (a message, a complaint) for up to ``max_seconds``, or until
they press the finish key (``#``) or hang up; the recording is added to the payload's
``recordingUrls``. The wait is durable like a menu's. A hangup ends the recording and then
takes the flow to ``on_remote_hangup``, with the recording kept.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowhook.channels.service import Channels
from flowhook.domain.call import CallRow
from flowhook.engine.context import StepContext
from flowhook.engine.widget import REMOTE_HANGUP, Exit, Outcome, WidgetConfig, register
from flowhook.widgets._call import (
    CallWidget,
    listening_since,
    presses,
    record_press,
    wait,
)
from flowhook.widgets.play import play_prompt


class RecordConfig(WidgetConfig):
    text: str | None = Field(None, max_length=4_000)
    """A prompt played before recording starts (``Leave your message after the tone``)."""
    max_seconds: float = Field(60, gt=0, le=3_600)
    finish_key: str | None = Field("#", pattern=r"^[0-9*#]$")
    file_name: str = Field("${flow.syskey.phonon_uuid}.wav", max_length=200)


@register
class Record(CallWidget[RecordConfig]):
    type = "record"
    Config = RecordConfig
    waits = True

    def call_over(self, ctx: StepContext, exit: Exit) -> None:
        mine: dict[str, Any] | None = ctx.state.scratch.get(self.id)
        if mine is not None and exit.name == REMOTE_HANGUP:
            self._keep(ctx, mine)  # what was said before the hangup is kept

    async def on_call(self, ctx: StepContext, row: CallRow, leg: dict[str, Any]) -> Outcome:
        mine: dict[str, Any] | None = ctx.state.scratch.get(self.id)
        now = ctx.now()
        channels = ctx.services.get(Channels)
        adapter = channels.voice(ctx.account)
        if mine is None:
            if self.config.text is not None:
                await play_prompt(ctx, ctx.render(self.config.text), leg, row)
            name = "".join(
                c if c.isalnum() or c in "-_." else "_" for c in ctx.render(self.config.file_name)
            )[:200]
            url = await adapter.record(row, name)
            mine = ctx.state.scratch[self.id] = {
                "since": listening_since(leg, now),
                "started": now,
                "name": name,
                "url": url,
            }
        deadline = float(mine["started"]) + ctx.settings.scaled(self.config.max_seconds)
        finished = [
            p for p in presses(row, float(mine["since"]), now) if p["key"] == self.config.finish_key
        ]
        if finished or now >= deadline:
            if finished:
                record_press(leg, finished[0], "finish recording")
            await adapter.stop_recording(row, str(mine["name"]))
            self._keep(ctx, mine)
            return Exit("next")
        return wait(ctx, deadline, row)

    def _keep(self, ctx: StepContext, mine: dict[str, Any]) -> None:
        ctx.state.recordings.append({"file_name": mine["name"], "url": mine["url"]})
        ctx.log["recording"] = mine["url"]
