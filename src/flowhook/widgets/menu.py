"""Menu: play a prompt and wait, durably, for the caller's key. Each option key is an exit
(``"1": "sales"``); a key that is no option is ``invalid``, no key within ``timeout_s`` is
``timeout``; either replays the prompt up to ``retries`` more times first. The key pressed
is recorded on the leg (``dtmfPressesd``, with the option's label).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from flowhook.domain.call import CallRow
from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, WidgetConfig, register
from flowhook.widgets._call import (
    CallWidget,
    listening_since,
    presses,
    record_press,
    wait,
)
from flowhook.widgets.play import play_prompt, prompt_of


class MenuConfig(WidgetConfig):
    text: str | None = Field(None, max_length=4_000)
    audio: str | None = Field(None, max_length=2_000)
    options: dict[str, str] = Field(min_length=1)
    """Key → label (the label is recorded with the press)."""
    timeout_s: float = Field(5.0, gt=0, le=3_600)
    retries: int = Field(2, ge=0, le=10)

    @field_validator("options")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [key for key in value if not re.fullmatch(r"[0-9*#]", key)]
        if bad:
            raise ValueError(f"options are single keys 0-9, * or # (not {bad})")
        return value

    @model_validator(mode="after")
    def _one_prompt(self) -> MenuConfig:
        if (self.text is None) == (self.audio is None):
            raise ValueError("set exactly one of text or audio")
        return self


@register
class Menu(CallWidget[MenuConfig]):
    type = "menu"
    Config = MenuConfig
    waits = True

    @classmethod
    def exit_names(cls, config: Any) -> set[str]:
        return set(config.options) | {"timeout", "invalid"}

    async def on_call(self, ctx: StepContext, row: CallRow, leg: dict[str, Any]) -> Outcome:
        now = ctx.now()
        prompt = prompt_of(ctx, self.config.text, self.config.audio)
        mine: dict[str, Any] | None = ctx.state.scratch.get(self.id)
        if mine is None:
            await play_prompt(ctx, prompt, leg, row)
            mine = ctx.state.scratch[self.id] = {
                "since": listening_since(leg, now),
                "started": now,
                "tries": 0,
            }
        pressed = presses(row, float(mine["since"]), now)
        deadline = float(mine["started"]) + ctx.settings.scaled(self.config.timeout_s)
        if pressed:
            key = str(pressed[0]["key"])
            record_press(leg, pressed[0], self.config.options.get(key, ""))
            ctx.log["key"] = key
            if key in self.config.options:
                return Exit(key)
            failure = "invalid"
        elif now >= deadline:
            failure = "timeout"
        else:
            return wait(ctx, deadline, row)
        if int(mine["tries"]) >= self.config.retries:
            return Exit(failure)
        await play_prompt(ctx, prompt, leg, row)
        mine.update(since=now, started=now, tries=int(mine["tries"]) + 1)
        return wait(ctx, now + ctx.settings.scaled(self.config.timeout_s), row)
