"""Operation: compute one value and write it to a variable. The original product's general
assignment, string, number and date-time manipulations, chosen by ``operation``.

The computations are plain functions (``length``, ``substring``, ``arithmetic``,
``add_duration``, …) tested without a context; the widget only renders the operands,
calls one of them and stores the result in ``target``.

Numbers are read as decimals with 28 significant digits (see ``_numbers``). A result is
an ``int`` when it is integral and a ``float`` otherwise, so it stays a JSON number that
decisions and templating read naturally: ``10 / 4`` → ``2.5``, ``0.1 + 0.2`` → ``0.3``,
``2.5 * 2`` → ``5``.

Date-times are ISO-8601 text. One without an offset is read in the account's time zone,
and results are written in the account's time zone with its offset
(``2024-03-10T17:30:00+05:30``). An empty value means now, to the second.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import Field, JsonValue, StrictStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from flowhook.engine.context import StepContext
from flowhook.engine.templating import to_text
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig, register
from flowhook.errors import Code, WidgetError
from flowhook.widgets._fields import Scalar, WritableVariable, has_reference
from flowhook.widgets._numbers import ARITHMETIC, operand, parse_number, to_json_number

T = TypeVar("T")

OperationName = Literal[
    "assign",
    "length",
    "concatenate",
    "lower",
    "upper",
    "substring",
    "add",
    "subtract",
    "multiply",
    "divide",
    "add_duration",
    "subtract_duration",
    "difference",
    "format",
]
ArithmeticName = Literal["add", "subtract", "multiply", "divide"]
Unit = Literal["seconds", "minutes", "hours", "days"]

UNIT_SECONDS: dict[str, int] = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}

_OPERANDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # operation: (required operands, optional operands)
    "assign": (frozenset(), frozenset({"value"})),  # no value assigns null
    "length": (frozenset({"value"}), frozenset()),
    "concatenate": (frozenset({"values"}), frozenset()),
    "lower": (frozenset({"value"}), frozenset()),
    "upper": (frozenset({"value"}), frozenset()),
    "substring": (frozenset({"value", "start"}), frozenset({"length"})),
    "add": (frozenset({"left", "right"}), frozenset()),
    "subtract": (frozenset({"left", "right"}), frozenset()),
    "multiply": (frozenset({"left", "right"}), frozenset()),
    "divide": (frozenset({"left", "right"}), frozenset()),
    "add_duration": (frozenset({"amount", "unit"}), frozenset({"value"})),
    "subtract_duration": (frozenset({"amount", "unit"}), frozenset({"value"})),
    "difference": (frozenset({"start", "end", "unit"}), frozenset()),
    "format": (frozenset({"format"}), frozenset({"value"})),
}
_DATETIME_OPERANDS = {
    ("add_duration", "value"),
    ("subtract_duration", "value"),
    ("format", "value"),
    ("difference", "start"),
    ("difference", "end"),
}


def _operand(**kwargs: Any) -> Any:
    # validate_default: a missing operand still reaches _check_operand (to be reported).
    return Field(None, validate_default=True, **kwargs)


class OperationConfig(WidgetConfig):
    """Flat, as users write it: ``operation``, ``target`` and that operation's operands.
    Each operand is checked against the operation, so errors point at the operand."""

    operation: OperationName
    target: WritableVariable
    value: JsonValue = _operand()
    values: list[JsonValue] | None = _operand(min_length=1)
    left: Scalar | None = _operand()
    right: Scalar | None = _operand()
    start: Scalar | None = _operand()
    length: Scalar | None = _operand()
    amount: Scalar | None = _operand()
    unit: Unit | None = _operand()
    end: StrictStr | None = _operand()
    format: StrictStr | None = _operand()

    @field_validator(
        "value",
        "values",
        "left",
        "right",
        "start",
        "length",
        "amount",
        "unit",
        "end",
        "format",
    )
    @classmethod
    def _check_operand(cls, value: Any, info: ValidationInfo) -> Any:
        operation = info.data.get("operation")
        field = info.field_name
        if operation is None or field is None:  # the operation itself is invalid
            return value
        required, optional = _OPERANDS[operation]
        if value is None:
            if field in required:
                raise PydanticCustomError(
                    "missing", "required by operation '{operation}'", {"operation": operation}
                )
            return value
        if field not in required | optional:
            raise PydanticCustomError(
                "extra_forbidden", "not used by operation '{operation}'", {"operation": operation}
            )
        _check_literal(operation, field, value)
        return value


def _check_literal(operation: str, field: str, value: Any) -> None:
    """Catch at save time what a literal operand makes certain to fail at run time."""
    if isinstance(value, str) and has_reference(value):
        return
    if field in ("left", "right", "amount") and parse_number(value) is None:
        raise ValueError(f"{value!r} is not a number")
    if operation == "substring" and field in ("start", "length"):
        number = parse_number(value)
        if number is None or number != number.to_integral_value():
            raise ValueError(f"{value!r} is not a whole number")
        if field == "length" and number < 0:
            raise ValueError("must not be negative")
    if (operation, field) in _DATETIME_OPERANDS:
        if not isinstance(value, str):
            raise ValueError("must be an ISO-8601 date-time text (empty for now)")
        if value.strip():
            try:
                datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"{value!r} is not an ISO-8601 date-time") from None


# strings ---------------------------------------------------------------------------------


def length(value: Any) -> int:
    """Characters of the text; items of a list (or keys of an object)."""
    if isinstance(value, (list, dict)):
        return len(value)
    return len(to_text(value))


def concatenate(values: Sequence[Any]) -> str:
    return "".join(to_text(value) for value in values)


def substring(text: str, start: int, length: int | None = None) -> str:
    """``length`` characters from ``start`` (negative counts from the end); out of range
    gives what exists, as Python slicing does. ``None`` means to the end."""
    if length is not None and length < 0:
        raise WidgetError(f"substring length {length} is negative", code=Code.NEGATIVE_LENGTH)
    if start < 0:
        start = max(len(text) + start, 0)
    return text[start : None if length is None else start + length]


# numbers ---------------------------------------------------------------------------------

_ARITHMETIC: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "add": ARITHMETIC.add,
    "subtract": ARITHMETIC.subtract,
    "multiply": ARITHMETIC.multiply,
    "divide": ARITHMETIC.divide,
}


def arithmetic(operation: ArithmeticName, left: Decimal, right: Decimal) -> int | float:
    if operation == "divide" and right == 0:
        raise WidgetError(f"cannot divide {left} by zero", code=Code.DIVISION_BY_ZERO)
    try:
        result = _ARITHMETIC[operation](left, right)
    except decimal.DecimalException:
        raise WidgetError(f"{operation} is out of range", code=Code.NUMBER_OUT_OF_RANGE) from None
    return to_json_number(result)


# date-times ------------------------------------------------------------------------------


def parse_datetime(text: str, tz: tzinfo) -> datetime:
    """ISO-8601 with or without offset; without one it is a wall-clock time in ``tz``."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise WidgetError(
            f"{text!r} is not an ISO-8601 date-time", code=Code.INVALID_DATETIME
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(tz)


def _moment(text: str, tz: tzinfo, now: datetime) -> datetime:
    return now.astimezone(tz) if not text.strip() else parse_datetime(text, tz)


def add_duration(value: str, amount: Decimal, unit: Unit, *, tz: tzinfo, now: datetime) -> str:
    """``days`` move the calendar (same wall-clock time across a DST change); seconds,
    minutes and hours move elapsed time. A negative amount goes back."""
    moment = _moment(value, tz, now)
    try:
        if unit == "days":
            # aware arithmetic within one zone is wall-clock; the zone re-resolves the offset
            shifted = moment + timedelta(days=float(amount))
        else:
            shifted = moment.astimezone(UTC) + timedelta(seconds=float(amount) * UNIT_SECONDS[unit])
    except OverflowError:
        raise WidgetError(
            f"{value or 'now'} moved by {amount} {unit} is out of range",
            code=Code.DATETIME_OUT_OF_RANGE,
        ) from None
    return shifted.astimezone(tz).isoformat()


def difference(start: str, end: str, unit: Unit, *, tz: tzinfo, now: datetime) -> int | float:
    """Elapsed time from ``start`` to ``end`` in ``unit`` (negative when end is earlier)."""
    elapsed = _moment(end, tz, now).astimezone(UTC) - _moment(start, tz, now).astimezone(UTC)
    microseconds = Decimal(elapsed // timedelta(microseconds=1))
    return to_json_number(ARITHMETIC.divide(microseconds, Decimal(UNIT_SECONDS[unit] * 10**6)))


def format_datetime(value: str, pattern: str, *, tz: tzinfo, now: datetime) -> str:
    """The date-time in the account's zone written with a ``strftime`` pattern."""
    try:
        return _moment(value, tz, now).strftime(pattern)
    except ValueError as exc:
        raise WidgetError(
            f"cannot format with {pattern!r}: {exc}", code=Code.INVALID_FORMAT
        ) from None


# the widget ------------------------------------------------------------------------------


@register
class Operation(Widget[OperationConfig]):
    type = "operation"
    Config = OperationConfig

    async def run(self, ctx: StepContext) -> Outcome:
        ctx.set(self.config.target, self._compute(ctx))
        return Exit()

    def _compute(self, ctx: StepContext) -> Any:
        c = self.config
        now = ctx.local_now().replace(microsecond=0)
        match c.operation:
            case "assign":
                return ctx.render_value(c.value)
            case "length":
                return length(ctx.render_value(c.value))
            case "concatenate":
                return concatenate([ctx.render_value(item) for item in _given(c.values)])
            case "lower":
                return _text(ctx, c.value).lower()
            case "upper":
                return _text(ctx, c.value).upper()
            case "substring":
                start = _integer(ctx, "start", c.start)
                count = None if c.length is None else _integer(ctx, "length", c.length)
                return substring(_text(ctx, c.value), start, count)
            case "add" | "subtract" | "multiply" | "divide":
                left = _number(ctx, "left", c.left)
                right = _number(ctx, "right", c.right)
                return arithmetic(c.operation, left, right)
            case "add_duration" | "subtract_duration":
                amount = _number(ctx, "amount", c.amount)
                if c.operation == "subtract_duration":
                    amount = amount.copy_negate()  # exact, no context involved
                return add_duration(
                    _text(ctx, c.value), amount, _given(c.unit), tz=ctx.tz(), now=now
                )
            case "difference":
                start_text = _text(ctx, _given(c.start))
                end_text = _text(ctx, _given(c.end))
                return difference(start_text, end_text, _given(c.unit), tz=ctx.tz(), now=now)
            case "format":
                pattern = ctx.render(_given(c.format))
                return format_datetime(_text(ctx, c.value), pattern, tz=ctx.tz(), now=now)


_INDEX_LIMIT = Decimal(10**15)


def _given(value: T | None) -> T:
    """An operand the config validator has already required (narrows the type)."""
    if value is None:  # unreachable after validation; a clear error if it ever happens
        raise WidgetError(
            "operand missing from a validated configuration", code=Code.INVALID_CONFIG
        )
    return value


def _text(ctx: StepContext, raw: Any) -> str:
    return to_text(ctx.render_value(raw))


def _number(ctx: StepContext, name: str, raw: Scalar | None) -> Decimal:
    return operand(name, _text(ctx, raw))


def _integer(ctx: StepContext, name: str, raw: Scalar | None) -> int:
    number = _number(ctx, name, raw)
    if number != number.to_integral_value():
        raise WidgetError(
            f"{name} is not a whole number: {number}",
            code=Code.NOT_AN_INTEGER,
            details={"operand": name, "value": str(number)},
        )
    # beyond any text's length either way; clamping keeps int() cheap for 1e999999
    return int(max(min(number, _INDEX_LIMIT), -_INDEX_LIMIT))
