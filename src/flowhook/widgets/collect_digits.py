"""Collect Digits: play a prompt and gather the caller's keys into a variable, until the
terminator (``#``, not kept), ``max_length`` keys, or ``timeout_s`` without a key. Keys
gathered by then are stored and the flow goes on by ``next``; no key at all is
``timeout``. Every key is recorded on the leg.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

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
from flowhook.widgets._fields import WritableVariable
from flowhook.widgets.play import play_prompt


class CollectDigitsConfig(WidgetConfig):
    text: str | None = Field(None, max_length=4_000)
    target: WritableVariable
    max_length: int = Field(20, ge=1, le=64)
    terminator: str | None = Field("#", pattern=r"^[*#]$")
    timeout_s: float = Field(5.0, gt=0, le=3_600)
    """How long to wait for each key."""


@register
class CollectDigits(CallWidget[CollectDigitsConfig]):
    type = "collect_digits"
    Config = CollectDigitsConfig
    waits = True

    @classmethod
    def exit_names(cls, config: Any) -> set[str]:
        return {"timeout"}

    async def on_call(self, ctx: StepContext, row: CallRow, leg: dict[str, Any]) -> Outcome:
        now = ctx.now()
        mine: dict[str, Any] | None = ctx.state.scratch.get(self.id)
        if mine is None:
            if self.config.text is not None:
                await play_prompt(ctx, ctx.render(self.config.text), leg, row)
            mine = ctx.state.scratch[self.id] = {"since": listening_since(leg, now), "started": now}
        since = float(mine["since"])
        digits = ""
        last = since
        for press in presses(row, since, now):
            key = str(press["key"])
            last = float(press["at"])
            if key == self.config.terminator:
                return self._done(ctx, leg, row, since, last, digits)
            digits += key
            if len(digits) >= self.config.max_length:
                return self._done(ctx, leg, row, since, last, digits)
        deadline = max(last, float(mine["started"])) + ctx.settings.scaled(self.config.timeout_s)
        if now < deadline:
            return wait(ctx, deadline, row)
        if not digits:
            return Exit("timeout")
        return self._done(ctx, leg, row, since, last, digits)

    def _done(
        self,
        ctx: StepContext,
        leg: dict[str, Any],
        row: CallRow,
        since: float,
        last: float,
        digits: str,
    ) -> Exit:
        for press in presses(row, since, last):
            record_press(leg, press)
        ctx.set(self.config.target, digits)
        ctx.log["digits"] = digits
        return Exit("next")
