"""Field types shared by widget configurations: the variable names a widget may write,
operands that are a number or a text, and whether a text refers to variables (then it can
only be checked when the widget runs).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, PlainValidator
from pydantic_core import PydanticCustomError

from flowhook.engine.templating import REFERENCE

WRITABLE = re.compile(r"^\$(flow|user)\.(key|syskey)\.[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def _writable(name: str) -> str:
    if not WRITABLE.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a variable a widget may write: use $flow.key.<name>, "
            "$flow.syskey.<name>, $user.key.<name> or $user.syskey.<name> "
            "($call.* and $sys.* are read-only)"
        )
    return name


WritableVariable = Annotated[str, AfterValidator(_writable)]
"""A ``$flow.key.x``-style name a widget may write (checked when the flow is saved)."""


def _scalar(value: object) -> str | int | float:
    # one clear error instead of pydantic's one-per-union-member
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    raise PydanticCustomError("scalar_type", "Input should be a number or a text")


Scalar = Annotated[
    str | int | float, PlainValidator(_scalar, json_schema_input_type=str | int | float)
]
"""An operand: a number, or a text (often a variable reference) read when the widget runs."""


def has_reference(text: str) -> bool:
    """True when the text contains a variable reference and so is only known at run time."""
    return REFERENCE.search(text) is not None
