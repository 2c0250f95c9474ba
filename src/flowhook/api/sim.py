"""The simulator over HTTP (``/v1/sim/...``), over :mod:`flowhook.usecases.sim`: ring a DID,
text a DID, press keys on a live call, hang it up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.openapi import error_responses
from flowhook.usecases import sim
from flowhook.usecases.sim import SimCall, SimKeys, SimSms

router = APIRouter()


@router.post("/v1/sim/calls", status_code=202, responses=error_responses(404))
async def call_in(body: SimCall, account: AccountDep, rt: RuntimeDep) -> dict[str, str]:
    return await sim.inbound_call(rt, account, body)


@router.post("/v1/sim/sms", status_code=202, responses=error_responses(404))
async def sms_in(body: SimSms, account: AccountDep, rt: RuntimeDep) -> dict[str, str]:
    return await sim.inbound_sms(rt, account, body)


@router.post("/v1/sim/calls/{call_id}/dtmf", status_code=202, responses=error_responses(404, 409))
async def press(call_id: str, body: SimKeys, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return await sim.press(rt, account, call_id, body)


@router.post("/v1/sim/calls/{call_id}/hangup", status_code=202, responses=error_responses(404, 409))
async def hang_up(call_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return await sim.hangup(rt, account, call_id)
