"""The syntax of a variable reference in a template: ``$flow.key.name``, ``${flow.key.name}``,
``$call.x``, ``$sys.x``. Here, below the engine, because what is a reference (and so is not a
secret, nor a literal URL) is checked by plain data such as a webhook's request spec; the
engine's templating renders them."""

from __future__ import annotations

import re

_SEG = r"[A-Za-z0-9_]+(?:[-][A-Za-z0-9_]+)*"
_NAME = (
    rf"(?:flow|user)\.(?:key|syskey)\.{_SEG}(?:\.{_SEG})*"
    rf"|call\.{_SEG}(?:\.{_SEG})*"
    rf"|sys\.{_SEG}"
)
REFERENCE = re.compile(rf"\$\{{(?P<braced>{_NAME})\}}|\$(?P<bare>{_NAME})")
"""``$flow.key.name`` or ``${flow.key.name}`` (braces let a reference touch other text)."""
