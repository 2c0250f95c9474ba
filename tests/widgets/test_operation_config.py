"""What the operation widget's configuration accepts, and where it points when it does not."""

import pytest
from pydantic import ValidationError

from flowhook.widgets.operation import OperationConfig


def validate(**fields):
    return OperationConfig.model_validate(
        {"type": "operation", "target": "$flow.key.result", **fields}
    )


def only_error(caught):
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    return errors[0]


def test_a_missing_operand_is_reported_at_its_field():
    with pytest.raises(ValidationError) as caught:
        validate(operation="divide", left="10")
    error = only_error(caught)
    assert error["loc"] == ("right",)
    assert error["type"] == "missing"
    assert error["msg"] == "required by operation 'divide'"


def test_every_missing_operand_is_reported():
    with pytest.raises(ValidationError) as caught:
        validate(operation="difference")
    assert {e["loc"] for e in caught.value.errors()} == {("start",), ("end",), ("unit",)}


def test_an_operand_the_operation_does_not_use_is_rejected():
    with pytest.raises(ValidationError) as caught:
        validate(operation="length", value="abc", right="1")
    error = only_error(caught)
    assert error["loc"] == ("right",)
    assert error["msg"] == "not used by operation 'length'"


def test_an_unknown_operation_is_rejected_without_operand_noise():
    with pytest.raises(ValidationError) as caught:
        validate(operation="sqrt", value="4")
    assert only_error(caught)["loc"] == ("operation",)


def test_an_unknown_field_is_rejected():
    with pytest.raises(ValidationError) as caught:
        validate(operation="upper", value="a", colour="red")
    assert only_error(caught)["loc"] == ("colour",)


@pytest.mark.parametrize("target", ["$call.cli.number", "$sys.datetime", "flow.key.x"])
def test_the_target_must_be_a_writable_variable(target):
    with pytest.raises(ValidationError) as caught:
        OperationConfig.model_validate(
            {"type": "operation", "operation": "assign", "value": 1, "target": target}
        )
    assert only_error(caught)["loc"] == ("target",)


def test_a_literal_operand_that_is_not_a_number_is_caught_at_save_time():
    with pytest.raises(ValidationError) as caught:
        validate(operation="add", left="ten", right=1)
    error = only_error(caught)
    assert error["loc"] == ("left",)
    assert "'ten' is not a number" in error["msg"]


def test_a_boolean_is_not_a_number_operand():
    with pytest.raises(ValidationError) as caught:
        validate(operation="add", left=True, right=1)
    assert {e["loc"][0] for e in caught.value.errors()} == {"left"}


def test_operands_with_references_are_checked_only_when_the_widget_runs():
    config = validate(operation="add", left="$flow.key.a", right="${flow.key.b}")
    assert config.left == "$flow.key.a"


def test_a_literal_date_time_that_is_not_iso_8601_is_caught_at_save_time():
    with pytest.raises(ValidationError) as caught:
        validate(operation="add_duration", value="10/03/2024", amount=1, unit="days")
    error = only_error(caught)
    assert error["loc"] == ("value",)
    assert "ISO-8601" in error["msg"]


def test_difference_needs_date_time_text_not_numbers():
    with pytest.raises(ValidationError) as caught:
        validate(operation="difference", start=5, end="", unit="days")
    assert only_error(caught)["loc"] == ("start",)


def test_an_unknown_unit_is_rejected():
    with pytest.raises(ValidationError) as caught:
        validate(operation="add_duration", amount=1, unit="weeks")
    assert only_error(caught)["loc"] == ("unit",)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"start": 1.5}, "start"),
        ({"start": "x"}, "start"),
        ({"start": 0, "length": -1}, "length"),
        ({"start": 0, "length": "2.5"}, "length"),
    ],
)
def test_substring_positions_must_be_whole_numbers(fields, field):
    with pytest.raises(ValidationError) as caught:
        validate(operation="substring", value="abc", **fields)
    assert only_error(caught)["loc"] == (field,)


def test_concatenate_needs_at_least_one_value():
    with pytest.raises(ValidationError) as caught:
        validate(operation="concatenate", values=[])
    assert only_error(caught)["loc"] == ("values",)


def test_assign_without_value_assigns_null():
    assert validate(operation="assign").value is None


def test_optional_operands_may_be_left_out():
    assert validate(operation="substring", value="abc", start=1).length is None
    assert validate(operation="add_duration", amount=1, unit="hours").value is None
    assert validate(operation="format", format="%d").value is None
