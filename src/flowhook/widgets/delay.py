"""Delay: wait, durably, before going on. The widget only says until when; the engine
persists the execution as WAITING with that wake-up time, and a worker resumes it by
the ``next`` exit, even after a restart.

The wait is ``seconds`` or ``minutes`` (one of them): a number, or text with a variable
reference that must render to a number. ``Settings.time_scale`` compresses it in tests.
"""

from __future__ import annotations

import math

from pydantic import field_validator, model_validator

from flowhook.engine.context import StepContext
from flowhook.engine.widget import Outcome, Wait, Widget, WidgetConfig, register
from flowhook.errors import Code, WidgetError
from flowhook.widgets._fields import Scalar, has_reference
from flowhook.widgets._numbers import operand, parse_number


class DelayConfig(WidgetConfig):
    seconds: Scalar | None = None
    minutes: Scalar | None = None

    @field_validator("seconds", "minutes")
    @classmethod
    def _check_literal(cls, value: Scalar | None) -> Scalar | None:
        if value is not None and not (isinstance(value, str) and has_reference(value)):
            number = parse_number(value)
            if number is None:
                raise ValueError(f"{value!r} is not a number")
            if number < 0:
                raise ValueError("must not be negative")
        return value

    @model_validator(mode="after")
    def _one_duration(self) -> DelayConfig:
        if (self.seconds is None) == (self.minutes is None):
            raise ValueError("set exactly one of seconds or minutes")
        return self


@register
class Delay(Widget[DelayConfig]):
    type = "delay"
    Config = DelayConfig

    async def run(self, ctx: StepContext) -> Outcome:
        if self.config.minutes is not None:
            seconds = _duration(ctx, "minutes", self.config.minutes) * 60
        else:
            seconds = _duration(ctx, "seconds", self.config.seconds)
        return Wait(until=ctx.now() + ctx.settings.scaled(seconds))


def _duration(ctx: StepContext, name: str, raw: Scalar | None) -> float:
    text = ctx.render(raw) if isinstance(raw, str) else str(raw)
    value = float(operand(name, text))
    if value < 0 or not math.isfinite(value * 60):
        raise WidgetError(
            f"{name} must be a non-negative number, not {text}", code=Code.INVALID_DELAY
        )
    return value
