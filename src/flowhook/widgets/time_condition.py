"""Time Condition: is the account open now? Opening hours per weekday in the account's
time zone (``"mon": ["09:00-13:00", "14:00-18:00"]``) and holidays (``"2026-12-25"``).
Exits ``open`` (or ``next``), ``closed`` and ``holiday`` (``closed`` when not connected).
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

from pydantic import Field, field_validator

from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig, register

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")


class TimeConditionConfig(WidgetConfig):
    hours: dict[str, list[str]] = Field(default_factory=dict)
    holidays: list[date] = Field(default_factory=list, max_length=1_000)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, ranges in value.items():
            if day not in DAYS:
                raise ValueError(f"{day!r} is not a day ({', '.join(DAYS)})")
            for entry in ranges:
                match = _RANGE.match(entry)
                if match is None or entry[:5] >= entry[6:]:
                    raise ValueError(f"{entry!r} is not a range like 09:00-17:30")
        return value


def _parse(hhmm: str) -> time:
    return time.max if hhmm == "24:00" else time.fromisoformat(hhmm)


@register
class TimeCondition(Widget[TimeConditionConfig]):
    type = "time_condition"
    Config = TimeConditionConfig

    @classmethod
    def exit_names(cls, config: Any) -> set[str]:
        return {"open", "closed", "holiday"}

    async def run(self, ctx: StepContext) -> Outcome:
        now = ctx.local_now()
        ctx.log["local_time"] = now.isoformat(timespec="seconds")
        if now.date() in self.config.holidays:
            return Exit("holiday" if "holiday" in self.config.exits else "closed")
        current = now.time()
        for entry in self.config.hours.get(DAYS[now.weekday()], []):
            if _parse(entry[:5]) <= current < _parse(entry[6:]):
                return Exit("open" if "open" in self.config.exits else "next")
        return Exit("closed")
