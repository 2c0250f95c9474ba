"""Internal webhooks called from outside: one internal method (``createOutbound``,
``shortURL``, user preferences, agents …) run for an account with variables it is given.

Inside the platform the webhook widget calls the same methods in-process, over the
execution it runs in; a call from outside has no execution, so the method runs over a
throwaway one that holds only the given variables. A failure keeps what the method had set
(e.g. ``$flow.key.cli_pause_update: false``) in its details, as the widget would see it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flowhook.domain.account import Account
from flowhook.engine.context import StepContext
from flowhook.engine.state import ExecutionState, Status
from flowhook.engine.triggers import input_variables
from flowhook.internal import InternalMethodError, invoke
from flowhook.runtime import Runtime

Stage = Literal["prod", "test"]


class InternalCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str = Field(max_length=64)
    variables: dict[str, Any] = Field(default_factory=dict, max_length=1000)


@dataclass(frozen=True)
class Called:
    """What the method set (``$``-names) and the warnings it gave."""

    variables: dict[str, Any]
    warnings: list[str]


async def call(rt: Runtime, account: Account, stage: Stage, form: InternalCall) -> Called:
    """Run ``form.method`` at ``stage``; raises :class:`InternalMethodError` with the
    method's error reason as its code and ``{"variables": …}`` it set as its details."""
    state = ExecutionState(
        uuid=str(uuid.uuid4()),
        account_id=account.id,
        flow_id="",
        version=stage,
        request_id=str(uuid.uuid4()),
        status=Status.RUNNING,
        variables=input_variables(form.variables),
        created_at=rt.now(),
        started=True,
    )
    ctx = StepContext(state, "http", account.info(), rt.services)
    try:
        variables = await invoke(form.method, ctx, stage)
    except InternalMethodError as exc:
        raise InternalMethodError(
            exc.message, code=exc.code, details={"variables": dict(ctx.changed)}
        ) from None
    return Called(variables, ctx.warnings)
