"""The operation widget: each operation's result, and the codes it fails with."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowhook.engine.widget import Exit
from flowhook.errors import WidgetError
from flowhook.widgets.operation import (
    Operation,
    add_duration,
    arithmetic,
    concatenate,
    difference,
    length,
    substring,
)


@pytest.fixture
def compute(make_ctx, run_widget):
    """Run one operation with the given variables; return what it wrote to the target."""

    async def compute(variables=None, **config):
        ctx = make_ctx(variables)
        outcome = await run_widget(Operation, {"target": "$flow.key.result", **config}, ctx)
        assert outcome == Exit("next")
        return ctx.get("$flow.key.result")

    return compute


@pytest.fixture
def fails(compute):
    """Run one operation that must fail; return the WidgetError."""

    async def fails(variables=None, **config):
        with pytest.raises(WidgetError) as caught:
            await compute(variables, **config)
        return caught.value

    return fails


# general ---------------------------------------------------------------------------------


async def test_assign_stores_the_value_with_its_type(compute):
    assert await compute(operation="assign", value={"a": [1, 2]}) == {"a": [1, 2]}
    assert await compute({"flow.key.n": 7}, operation="assign", value="$flow.key.n") == 7
    assert await compute(operation="assign") is None


async def test_the_result_is_recorded_as_a_change_for_the_step_log(make_ctx, run_widget):
    ctx = make_ctx()
    await run_widget(Operation, {"operation": "upper", "value": "a", "target": "$user.key.x"}, ctx)
    assert ctx.changed == {"$user.key.x": "A"}


# strings ---------------------------------------------------------------------------------


async def test_length_counts_characters(compute):
    assert await compute(operation="length", value="héllo") == 5
    assert await compute({"flow.key.name": "Asha"}, operation="length", value="$flow.key.name") == 4
    assert await compute(operation="length", value="") == 0
    assert await compute(operation="length", value=12345) == 5


async def test_length_of_a_list_counts_its_items(compute):
    assert (
        await compute({"flow.key.items": [1, 2, 3]}, operation="length", value="$flow.key.items")
        == 3
    )


async def test_concatenate_joins_rendered_values_as_text(compute):
    result = await compute(
        {"flow.key.first": "Asha", "flow.key.n": 3},
        operation="concatenate",
        values=["$flow.key.first", " has ", "$flow.key.n", " items, ", True, None],
    )
    assert result == "Asha has 3 items, true"


async def test_lower_and_upper(compute):
    assert await compute(operation="lower", value="HeLLo") == "hello"
    assert (
        await compute({"flow.key.x": "straße"}, operation="upper", value="$flow.key.x") == "STRASSE"
    )


@pytest.mark.parametrize(
    ("start", "length_", "expected"),
    [
        (0, 3, "abc"),
        (2, None, "cdef"),
        (4, 10, "ef"),
        (10, 2, ""),
        (-2, None, "ef"),
        (-2, 1, "e"),
        (-10, 2, "ab"),
        (1, 0, ""),
        ("$flow.key.start", "$flow.key.len", "bc"),
    ],
)
async def test_substring_behaves_like_slicing(compute, start, length_, expected):
    config = {"operation": "substring", "value": "abcdef", "start": start}
    if length_ is not None:
        config["length"] = length_
    assert await compute({"flow.key.start": "1", "flow.key.len": 2}, **config) == expected


async def test_substring_with_a_fractional_position_fails_with_code(fails):
    error = await fails(
        {"flow.key.s": 1.5}, operation="substring", value="abc", start="$flow.key.s"
    )
    assert error.code == "NOT_AN_INTEGER"


async def test_substring_with_a_negative_length_fails_with_code(fails):
    error = await fails(
        {"flow.key.n": -1}, operation="substring", value="abc", start=0, length="$flow.key.n"
    )
    assert error.code == "NEGATIVE_LENGTH"


async def test_substring_with_a_huge_start_is_empty(compute):
    assert (
        await compute(
            {"flow.key.s": "1e999"}, operation="substring", value="abc", start="$flow.key.s"
        )
        == ""
    )


@given(st.lists(st.text()))
@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_length_of_a_concatenation_is_the_sum_of_lengths(parts):
    assert length(concatenate(parts)) == sum(length(part) for part in parts)


@given(st.text(), st.integers(min_value=0, max_value=50), st.integers(min_value=0, max_value=50))
def test_substring_agrees_with_python_slicing(text, start, count):
    assert substring(text, start, count) == text[start : start + count]


# numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "left", "right", "expected"),
    [
        ("add", "2", "3", 5),
        ("add", "0.1", "0.2", 0.3),
        ("subtract", 10, 4.5, 5.5),
        ("subtract", "1", "3", -2),
        ("multiply", "2.5", "2", 5),
        ("multiply", " 3 ", "1e3", 3000),
        ("divide", "10", "4", 2.5),
        ("divide", "10", "5", 2),
        ("divide", "1", "3", 1 / 3),
        ("divide", "-7", "2", -3.5),
    ],
)
async def test_arithmetic_is_decimal_and_integral_results_are_ints(
    compute, operation, left, right, expected
):
    result = await compute(operation=operation, left=left, right=right)
    assert result == expected
    assert type(result) is type(expected)


async def test_arithmetic_reads_operands_from_variables(compute):
    variables = {"flow.key.price": 19.99, "flow.key.qty": "3"}
    assert (
        await compute(
            variables, operation="multiply", left="$flow.key.price", right="$flow.key.qty"
        )
        == 59.97
    )


async def test_a_non_number_fails_with_code_naming_the_operand_and_value(fails):
    error = await fails({"flow.key.qty": "three"}, operation="add", left=1, right="$flow.key.qty")
    assert error.code == "NOT_A_NUMBER"
    assert error.message == "right is not a number: 'three'"
    assert error.details == {"operand": "right", "value": "three"}


@pytest.mark.parametrize("value", [True, "NaN", "Infinity", "1,000", "", [1]])
async def test_values_that_are_not_plain_numbers_fail(fails, value):
    error = await fails({"flow.key.v": value}, operation="add", left="$flow.key.v", right=1)
    assert error.code == "NOT_A_NUMBER"


async def test_an_unset_variable_is_not_a_number(fails):
    error = await fails(operation="add", left="$flow.key.unset", right=1)
    assert error.code == "NOT_A_NUMBER"
    assert error.details == {"operand": "left", "value": "$flow.key.unset"}


async def test_divide_by_zero_fails_with_code(fails):
    error = await fails(operation="divide", left="1", right="0.0")
    assert error.code == "DIVISION_BY_ZERO"


async def test_a_result_beyond_range_fails_with_code(fails):
    error = await fails(operation="multiply", left="9e999999", right="9e999999")
    assert error.code == "NUMBER_OUT_OF_RANGE"


@given(st.integers(-(10**20), 10**20), st.integers(-(10**20), 10**20))
def test_integer_arithmetic_agrees_with_python(a, b):
    left, right = Decimal(a), Decimal(b)
    assert arithmetic("add", left, right) == a + b
    assert arithmetic("subtract", left, right) == a - b
    if b != 0 and a % b == 0:
        assert arithmetic("divide", left, right) == a // b


# date-times ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "amount", "unit", "expected"),
    [
        ("2024-03-10T10:00:00", 90, "minutes", "2024-03-10T11:30:00+05:30"),
        ("2024-03-10T10:00:00+05:30", 2, "hours", "2024-03-10T12:00:00+05:30"),
        ("2024-03-10T10:00:00Z", 1, "days", "2024-03-11T15:30:00+05:30"),
        ("2024-03-10 10:00", 1.5, "seconds", "2024-03-10T10:00:01.500000+05:30"),
        ("2024-03-10", 1, "days", "2024-03-11T00:00:00+05:30"),
        ("", 1, "hours", "2024-03-10T18:30:00+05:30"),
    ],
)
async def test_add_duration_answers_in_the_account_time_zone(
    compute, value, amount, unit, expected
):
    config = {"operation": "add_duration", "amount": amount, "unit": unit}
    if value:
        config["value"] = value
    assert await compute(**config) == expected


async def test_subtract_duration_goes_back(compute):
    result = await compute(
        {"flow.key.when": "2024-03-01T00:00:00+05:30", "flow.key.n": "2"},
        operation="subtract_duration",
        value="$flow.key.when",
        amount="$flow.key.n",
        unit="days",
    )
    assert result == "2024-02-28T00:00:00+05:30"


async def test_add_duration_of_sys_datetime_is_relative_to_now(compute):
    result = await compute(
        operation="add_duration", value="$sys.datetime", amount=30, unit="minutes"
    )
    assert result == "2024-03-10T18:00:00+05:30"


async def test_an_unparseable_date_time_fails_with_code(fails):
    error = await fails(
        {"flow.key.when": "tomorrow"},
        operation="add_duration",
        value="$flow.key.when",
        amount=1,
        unit="days",
    )
    assert error.code == "INVALID_DATETIME"
    assert "tomorrow" in error.message


async def test_a_date_time_beyond_range_fails_with_code(fails):
    error = await fails(
        operation="add_duration", value="9999-12-31T00:00:00", amount=2, unit="days"
    )
    assert error.code == "DATETIME_OUT_OF_RANGE"


def test_days_keep_the_wall_clock_across_a_dst_change_but_hours_are_elapsed():
    london = ZoneInfo("Europe/London")  # clocks go forward on 2024-03-31
    now = datetime(2024, 1, 1, tzinfo=london)
    noon = "2024-03-30T12:00:00"
    assert add_duration(noon, Decimal(1), "days", tz=london, now=now) == "2024-03-31T12:00:00+01:00"
    assert (
        add_duration(noon, Decimal(24), "hours", tz=london, now=now) == "2024-03-31T13:00:00+01:00"
    )


@pytest.mark.parametrize(
    ("start", "end", "unit", "expected"),
    [
        ("2024-03-10T10:00:00", "2024-03-10T12:30:00", "hours", 2.5),
        ("2024-03-10T10:00:00", "2024-03-10T12:30:00", "minutes", 150),
        ("2024-03-12", "2024-03-10", "days", -2),
        ("2024-03-10T10:00:00+05:30", "2024-03-10T04:30:01Z", "seconds", 1),
        ("2024-03-10T17:00:00", "", "minutes", 30),
    ],
)
async def test_difference_is_elapsed_time_in_the_unit(compute, start, end, unit, expected):
    result = await compute(operation="difference", start=start, end=end, unit=unit)
    assert result == expected
    assert type(result) is type(expected)


def test_difference_counts_real_time_across_a_dst_change():
    london = ZoneInfo("Europe/London")
    now = datetime(2024, 1, 1, tzinfo=london)
    assert difference("2024-03-30T12:00", "2024-03-31T12:00", "hours", tz=london, now=now) == 23


async def test_format_writes_the_date_time_in_the_account_zone(compute):
    result = await compute(
        operation="format", value="2024-03-10T12:00:00Z", format="%d/%m/%Y %H:%M"
    )
    assert result == "10/03/2024 17:30"


async def test_format_without_value_formats_now(compute):
    assert await compute(operation="format", format="%A %H:%M %z") == "Sunday 17:30 +0530"


async def test_format_pattern_may_use_variables(compute):
    result = await compute(
        {"flow.key.pattern": "%Y"},
        operation="format",
        value="2024-03-10",
        format="year $flow.key.pattern",
    )
    assert result == "year 2024"


async def test_an_unknown_account_zone_falls_back_to_utc(make_ctx, run_widget):
    ctx = make_ctx(timezone="Mars/Olympus")
    await run_widget(
        Operation,
        {"operation": "add_duration", "amount": 0, "unit": "hours", "target": "$flow.key.t"},
        ctx,
    )
    assert ctx.get("$flow.key.t") == "2024-03-10T12:00:00+00:00"
