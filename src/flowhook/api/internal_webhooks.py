"""The internal webhook endpoint over HTTP: ``POST /centraloutboundwebhook-v1/{stage}/``
with ``{"method", "variables"}``, over :mod:`flowhook.usecases.internal_webhooks`. It lets
anything outside the platform (a script, another system) call the internal methods the
webhook widget calls in-process, authenticated by the account's Bearer API key and IP
whitelist.

The answer is the variables the method set; a failure is the usual error envelope with
the method's error reason as the code and the variables it set in ``details``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.usecases import internal_webhooks
from flowhook.usecases.internal_webhooks import InternalCall, Stage

router = APIRouter()


@router.post("/centraloutboundwebhook-v1/{stage}/")
@router.post("/centraloutboundwebhook-v1/{stage}", include_in_schema=False)
async def call_internal(
    stage: Stage, body: InternalCall, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    called = await internal_webhooks.call(rt, account, stage, body)
    return {
        "method": body.method,
        "stage": stage,
        "variables": called.variables,
        "warnings": called.warnings,
    }
