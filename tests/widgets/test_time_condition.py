"""Time Condition: open, closed and holiday in the account's time zone (the fixed clock is
Sunday 2024-03-10 17:30 in Asia/Kolkata, 12:00 UTC)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from flowhook.engine.widget import Exit
from flowhook.widgets.time_condition import TimeCondition, TimeConditionConfig
from widgets.conftest import MakeContext, RunWidget

EXITS = {"open": "a", "closed": "b", "holiday": "c"}


@pytest.mark.parametrize(
    ("hours", "timezone", "expected"),
    [
        ({"sun": ["09:00-18:00"]}, "Asia/Kolkata", "open"),
        ({"sun": ["09:00-17:30"]}, "Asia/Kolkata", "closed"),  # the end is exclusive
        ({"sun": ["17:30-24:00"]}, "Asia/Kolkata", "open"),
        ({"sun": ["09:00-13:00"]}, "UTC", "open"),  # 12:00 there
        ({"mon": ["00:00-24:00"]}, "Asia/Kolkata", "closed"),
        ({}, "Asia/Kolkata", "closed"),
    ],
)
async def test_hours_are_read_in_the_account_time_zone(
    make_ctx: MakeContext, run_widget: RunWidget, hours: Any, timezone: str, expected: str
) -> None:
    ctx = make_ctx(timezone=timezone)
    outcome = await run_widget(TimeCondition, {"hours": hours, "exits": EXITS}, ctx)
    assert outcome == Exit(expected)


async def test_a_holiday_wins_over_opening_hours(
    make_ctx: MakeContext, run_widget: RunWidget
) -> None:
    config = {"hours": {"sun": ["00:00-24:00"]}, "holidays": ["2024-03-10"]}
    assert await run_widget(TimeCondition, {**config, "exits": EXITS}, make_ctx()) == Exit(
        "holiday"
    )
    # without a holiday line it is simply closed; without an open line, open is next
    assert await run_widget(TimeCondition, config, make_ctx()) == Exit("closed")
    assert await run_widget(TimeCondition, {"hours": config["hours"]}, make_ctx()) == Exit("next")


@pytest.mark.parametrize(
    "hours", [{"sunday": ["09:00-17:00"]}, {"mon": ["9-17"]}, {"mon": ["18:00-09:00"]}]
)
def test_bad_hours_are_refused(hours: Any) -> None:
    with pytest.raises(ValidationError):
        TimeConditionConfig.model_validate({"type": "time_condition", "hours": hours})
