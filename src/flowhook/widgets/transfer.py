"""Transfer: ring another number for the caller (a colleague, a branch) and connect them
when it answers. It is ``make_call`` with a required ``to`` and ``HARD_PHONE`` as the new
leg's ``calleeType``; exits ``answered`` (or ``next``), ``busy``, ``no_answer``, ``failed``,
alternates tried in turn. On the simulator the connected legs end when the flow ends.
"""

from __future__ import annotations

from pydantic import Field

from flowhook.engine.widget import register
from flowhook.widgets.make_call import MakeCall, MakeCallConfig


class TransferConfig(MakeCallConfig):
    to: str = Field(min_length=1, max_length=200)
    callee_type: str = Field("HARD_PHONE", pattern=r"^[A-Z_]{1,32}$")


@register
class Transfer(MakeCall):
    type = "transfer"
    Config = TransferConfig
