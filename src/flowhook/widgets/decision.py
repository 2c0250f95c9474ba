"""Decision: leave by the first branch whose conditions hold, else by ``default``.

Each condition compares a ``left`` and a ``right`` value, both rendered first. The ordering
operators (``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=``) compare numerically when both sides
read as numbers (``"5"`` equals ``"5.0"``, ``"10" > "9"``) and as case-sensitive text
otherwise (``"b" > "a"``, ``"10" < "9a"``). ``contains``, ``starts_with`` and ``regex``
always work on text (``regex`` searches anywhere; anchor with ``^``/``$``); ``contains``
on a list looks for an item. ``is_empty`` needs no ``right``: it holds for nothing, blank
text, an empty list or object.

A condition side that is exactly one reference to an unset variable reads as empty, so
``is_empty`` on a variable no widget has written holds (the step log still warns).
The evaluation itself is the pure function ``holds``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from flowhook.engine import templating
from flowhook.engine.context import StepContext
from flowhook.engine.templating import to_text
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig, register
from flowhook.errors import Code, WidgetError
from flowhook.widgets._fields import has_reference
from flowhook.widgets._numbers import parse_number

Operator = Literal["==", "!=", "<", ">", "<=", ">=", "contains", "starts_with", "regex", "is_empty"]


def _side_value(value: object) -> str | int | float | bool:
    if isinstance(value, (str, int, float)):  # bool is an int
        return value
    raise PydanticCustomError("side_type", "Input should be a text, a number or a boolean")


Side = Annotated[
    str | int | float | bool,
    PlainValidator(_side_value, json_schema_input_type=str | int | float | bool),
]
"""A condition side as written: usually a text with a variable reference."""


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    left: Side
    op: Operator
    right: Side | None = Field(None, validate_default=True)

    @field_validator("right")
    @classmethod
    def _check_right(cls, right: Side | None, info: ValidationInfo) -> Side | None:
        op = info.data.get("op")
        if op is None or op == "is_empty":  # is_empty ignores right
            return right
        if right is None:
            raise PydanticCustomError("missing", "required by operator '{op}'", {"op": op})
        if op == "regex" and not (isinstance(right, str) and has_reference(right)):
            try:
                re.compile(to_text(right))
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return right


class Branch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exit: str = Field(min_length=1)
    conditions: list[Condition] = Field(min_length=1)
    match: Literal["all", "any"] = "all"


class DecisionConfig(WidgetConfig):
    branches: list[Branch] = Field(min_length=1)


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (list, dict)):
        return not value
    return not to_text(value).strip()


def _compare(op: str, left: Any, right: Any) -> bool:
    a: Any
    b: Any
    a, b = parse_number(left), parse_number(right)
    if a is None or b is None:  # not both numbers: compare as text
        a, b = to_text(left), to_text(right)
    match op:
        case "==":
            return bool(a == b)
        case "!=":
            return bool(a != b)
        case "<":
            return bool(a < b)
        case ">":
            return bool(a > b)
        case "<=":
            return bool(a <= b)
        case _:
            return bool(a >= b)


def holds(op: Operator, left: Any, right: Any = None) -> bool:
    """Whether ``left op right`` holds for rendered values (``Any``: variables' values)."""
    match op:
        case "is_empty":
            return is_empty(left)
        case "contains":
            if isinstance(left, list):
                return any(to_text(item) == to_text(right) for item in left)
            return to_text(right) in to_text(left)
        case "starts_with":
            return to_text(left).startswith(to_text(right))
        case "regex":
            try:
                pattern = re.compile(to_text(right))
            except re.error as exc:
                raise WidgetError(
                    f"invalid regular expression {to_text(right)!r}: {exc}", code=Code.INVALID_REGEX
                ) from None
            return pattern.search(to_text(left)) is not None
        case _:
            return _compare(op, left, right)


@register
class Decision(Widget[DecisionConfig]):
    type = "decision"
    Config = DecisionConfig

    @classmethod
    def exit_names(cls, config: DecisionConfig) -> set[str]:
        return {branch.exit for branch in config.branches} | {"default"}

    async def run(self, ctx: StepContext) -> Outcome:
        for branch in self.config.branches:
            results = (self._holds(ctx, condition) for condition in branch.conditions)
            if all(results) if branch.match == "all" else any(results):
                return Exit(branch.exit)
        return Exit("default")

    def _holds(self, ctx: StepContext, condition: Condition) -> bool:
        right = None if condition.op == "is_empty" else _side(ctx, condition.right)
        return holds(condition.op, _side(ctx, condition.left), right)


def _side(ctx: StepContext, raw: Side | None) -> Any:
    """A rendered side; exactly one reference to an unset variable reads as None (empty)."""
    if isinstance(raw, str):
        whole = templating.REFERENCE.fullmatch(raw)
        if whole and ctx.lookup(whole.group("braced") or whole.group("bare")) is templating.MISSING:
            ctx.render(raw)  # notes the unknown variable in the step log's warnings
            return None
    return ctx.render_value(raw)
