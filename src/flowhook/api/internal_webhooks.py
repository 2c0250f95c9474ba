"""The internal webhook endpoint over HTTP: ``POST /centraloutboundwebhook-v1/{stage}/``
with ``{"method", "variables"}``. Inside the platform the webhook widget calls the same
methods in-process; this endpoint lets anything else (a script, another system) call
them, authenticated by the account's Bearer API key and IP whitelist.

The variables stand in for an execution's: the method runs over a throwaway execution
that holds only them. The answer is the variables the method set; a failure is the usual
error envelope with the method's error reason as the code and the variables it set
(e.g. ``$flow.key.cli_pause_update: false``) in ``details``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.engine.context import StepContext
from flowhook.engine.state import ExecutionState, Status
from flowhook.internal import InternalMethodError, invoke
from flowhook.worker.triggers import input_variables

router = APIRouter()


class InternalCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str = Field(max_length=64)
    variables: dict[str, Any] = Field(default_factory=dict, max_length=1000)


@router.post("/centraloutboundwebhook-v1/{stage}/")
@router.post("/centraloutboundwebhook-v1/{stage}", include_in_schema=False)
async def call_internal(
    stage: Literal["prod", "test"], body: InternalCall, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    now = time.time()
    state = ExecutionState(
        uuid=str(uuid.uuid4()),
        account_id=account.id,
        flow_id="",
        version=stage,
        request_id=str(uuid.uuid4()),
        status=Status.RUNNING,
        variables=input_variables(body.variables),
        created_at=now,
        started=True,
    )
    ctx = StepContext(state, "http", account.info(), rt.services)
    try:
        variables = await invoke(body.method, ctx, stage)
    except InternalMethodError as exc:
        raise InternalMethodError(
            exc.message, code=exc.code, details={"variables": dict(ctx.changed)}
        ) from None
    return {"method": body.method, "stage": stage, "variables": variables, "warnings": ctx.warnings}
