"""The delay widget returns a durable Wait; the engine does the waiting."""

import pytest
from pydantic import ValidationError

from flowhook.engine.widget import Wait
from flowhook.errors import WidgetError
from flowhook.settings import Settings
from flowhook.widgets.delay import Delay, DelayConfig


async def test_delay_waits_the_given_seconds_then_leaves_by_next(ctx, run_widget, epoch):
    outcome = await run_widget(Delay, {"seconds": 30}, ctx)
    assert outcome == Wait(until=epoch + 30, exit="next")


async def test_delay_in_minutes(ctx, run_widget, epoch):
    assert await run_widget(Delay, {"minutes": 1.5}, ctx) == Wait(until=epoch + 90)


async def test_delay_is_scaled_by_the_settings_time_scale(make_ctx, run_widget, epoch):
    ctx = make_ctx(settings=Settings(time_scale=0.01))
    assert await run_widget(Delay, {"seconds": 100}, ctx) == Wait(until=epoch + 1)


async def test_a_zero_delay_wakes_immediately(ctx, run_widget, epoch):
    assert await run_widget(Delay, {"seconds": 0}, ctx) == Wait(until=epoch)


async def test_delay_reads_a_duration_from_a_variable(make_ctx, run_widget, epoch):
    ctx = make_ctx({"flow.key.wait": "2"})
    assert await run_widget(Delay, {"minutes": "$flow.key.wait"}, ctx) == Wait(until=epoch + 120)


async def test_a_literal_numeric_text_is_accepted(ctx, run_widget, epoch):
    assert await run_widget(Delay, {"seconds": "5"}, ctx) == Wait(until=epoch + 5)


async def test_a_variable_that_is_not_a_number_fails_with_code(make_ctx, run_widget):
    ctx = make_ctx({"flow.key.wait": "soon"})
    with pytest.raises(WidgetError) as caught:
        await run_widget(Delay, {"seconds": "$flow.key.wait"}, ctx)
    assert caught.value.code == "NOT_A_NUMBER"
    assert caught.value.details == {"operand": "seconds", "value": "soon"}


async def test_a_negative_duration_from_a_variable_fails_with_code(make_ctx, run_widget):
    ctx = make_ctx({"flow.key.wait": -5})
    with pytest.raises(WidgetError) as caught:
        await run_widget(Delay, {"seconds": "$flow.key.wait"}, ctx)
    assert caught.value.code == "INVALID_DELAY"


@pytest.mark.parametrize(
    ("delay", "loc"),
    [
        ({}, ()),
        ({"seconds": 1, "minutes": 1}, ()),
        ({"seconds": -1}, ("seconds",)),
        ({"minutes": "-2"}, ("minutes",)),
        ({"seconds": "later"}, ("seconds",)),
    ],
)
def test_bad_delays_are_rejected_at_save_time(delay, loc):
    with pytest.raises(ValidationError) as caught:
        DelayConfig.model_validate({"type": "delay", **delay})
    assert caught.value.errors()[0]["loc"][: len(loc)] == loc
