"""Numbers as flows write them: text such as ``"42"``, ``"-3.5"`` or ``"1e3"``, read exactly
as decimals so ``0.1 + 0.2`` is ``0.3`` and ``"5"`` equals ``"5.0"`` in a decision.

Shared by the operation and decision widgets (and the delay widget's durations), so every
widget agrees on what counts as a number.
"""

from __future__ import annotations

import decimal
import math
import re
from decimal import Decimal
from typing import Any

from flowhook.errors import Code, WidgetError

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,7})?")
"""Plain decimal notation; no ``NaN``/``Infinity``, no ``1_000`` or ``1,000``."""

PRECISION = 28
MAX_EXPONENT = 999_999

ARITHMETIC = decimal.Context(
    prec=PRECISION,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
"""A fixed context, so results do not depend on whatever the process set globally."""


def parse_number(value: Any) -> Decimal | None:
    """The number a value stands for, exactly, or None. Text is stripped of surrounding
    spaces; booleans, NaN, infinities and magnitudes beyond 1e±999999 are not numbers.
    (``Any``: values come from variables, whatever their type.)"""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # repr is the shortest text that reads back as this float: 0.1 → Decimal("0.1").
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            return None
        number = Decimal(text)
        return number if abs(number.adjusted()) <= MAX_EXPONENT else None
    return None


def operand(name: str, text: str) -> Decimal:
    """The number a widget's field ``name`` holds once rendered (``text``); ``NOT_A_NUMBER``
    (with the field and the text in ``details``) when it holds none."""
    number = parse_number(text)
    if number is None:
        raise WidgetError(
            f"{name} is not a number: {text!r}",
            code=Code.NOT_A_NUMBER,
            details={"operand": name, "value": text},
        )
    return number


def to_json_number(value: Decimal) -> int | float:
    """A result as JSON stores it: an ``int`` when integral (up to 28 digits, the
    arithmetic's precision), else a ``float``."""
    if value.is_finite() and value.adjusted() < PRECISION and value == value.to_integral_value():
        return int(value)
    result = float(value)
    if not math.isfinite(result):
        raise WidgetError(f"{value} is out of range", code=Code.NUMBER_OUT_OF_RANGE)
    return result
