"""The counter widget: under the limit, then over, counted per execution."""

import pytest
from pydantic import ValidationError

from flowhook.engine.widget import Exit
from flowhook.widgets.counter import Counter, CounterConfig


def counter(widget_id="retry", **fields):
    return Counter(widget_id, CounterConfig.model_validate({"type": "counter", **fields}))


async def test_counter_goes_under_up_to_the_limit_then_over(ctx):
    widget = counter(limit=3)
    exits = [(await widget.run(ctx)).name for _ in range(5)]
    assert exits == ["under", "under", "under", "over", "over"]


async def test_the_count_is_kept_in_the_execution_state_under_the_widget_id(ctx):
    widget = counter("w7", limit=2)
    await widget.run(ctx)
    await widget.run(ctx)
    assert ctx.state.counters == {"w7": 2}


async def test_a_count_in_restored_state_continues(make_ctx):
    ctx = make_ctx()
    ctx.state.counters["retry"] = 2
    assert await counter(limit=2).run(ctx) == Exit("over")


async def test_widgets_with_the_same_name_share_a_count(ctx):
    first, second = counter("a", name="tries", limit=2), counter("b", name="tries", limit=2)
    assert await first.run(ctx) == Exit("under")
    assert await second.run(ctx) == Exit("under")
    assert await first.run(ctx) == Exit("over")
    assert ctx.state.counters == {"tries": 3}


async def test_the_count_is_written_to_the_configured_variable(ctx):
    widget = counter(limit=5, variable="attempts")
    await widget.run(ctx)
    await widget.run(ctx)
    assert ctx.get("$flow.key.attempts") == 2
    assert ctx.changed == {"$flow.key.attempts": 2}


def test_a_variable_may_be_a_bare_name_or_a_writable_reference():
    assert (
        CounterConfig.model_validate(
            {"type": "counter", "limit": 1, "variable": "attempts"}
        ).variable
        == "$flow.key.attempts"
    )
    assert (
        CounterConfig.model_validate(
            {"type": "counter", "limit": 1, "variable": "$user.key.tries"}
        ).variable
        == "$user.key.tries"
    )


def test_exit_names_are_under_and_over():
    assert Counter.exit_names(counter(limit=1).config) == {"under", "over"}


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({}, ("limit",)),
        ({"limit": 0}, ("limit",)),
        ({"limit": 1, "name": ""}, ("name",)),
        ({"limit": 1, "variable": "$call.duration"}, ("variable",)),
        ({"limit": 1, "variable": "bad name"}, ("variable",)),
    ],
)
def test_bad_counters_are_rejected(fields, loc):
    with pytest.raises(ValidationError) as caught:
        CounterConfig.model_validate({"type": "counter", **fields})
    assert caught.value.errors()[0]["loc"] == loc
