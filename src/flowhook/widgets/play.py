"""Play: play a prompt on the call — text to speak (with variables) or an audio file
reference. What was played is kept in the step log and on the leg (``played``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from flowhook.channels.service import Channels
from flowhook.domain.call import CallRow
from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, WidgetConfig, register
from flowhook.widgets._call import CallWidget


class PlayConfig(WidgetConfig):
    text: str | None = Field(None, max_length=4_000)
    audio: str | None = Field(None, max_length=2_000)

    @model_validator(mode="after")
    def _one_prompt(self) -> PlayConfig:
        if (self.text is None) == (self.audio is None):
            raise ValueError("set exactly one of text or audio")
        return self


async def play_prompt(ctx: StepContext, prompt: str, leg: dict[str, Any], row: CallRow) -> None:
    """Play on the call and record it (shared with menu and collect_digits)."""
    await ctx.services.get(Channels).voice(ctx.account).play(row, prompt)
    leg.setdefault("played", []).append(prompt)
    ctx.log.setdefault("played", []).append(prompt)


def prompt_of(ctx: StepContext, text: str | None, audio: str | None) -> str:
    return ctx.render(text) if text is not None else f"audio:{ctx.render(audio or '')}"


@register
class Play(CallWidget[PlayConfig]):
    type = "play"
    Config = PlayConfig

    async def on_call(self, ctx: StepContext, row: CallRow, leg: dict[str, Any]) -> Outcome:
        await play_prompt(ctx, prompt_of(ctx, self.config.text, self.config.audio), leg, row)
        return Exit("next")
