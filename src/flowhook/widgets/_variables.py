"""Variable names in widget configuration: which ones a widget may write, and whether a
configured string refers to variables (then it can only be checked when the widget runs).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

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


def has_reference(text: str) -> bool:
    """True when the text contains a variable reference and so is only known at run time."""
    return REFERENCE.search(text) is not None
