"""The outbound (OBD) API of the original product: ``POST /kairos-apis/outbound/create``
and ``/kairos-apis/outbounddialer/create``.

Not under ``/v1`` and without a Bearer key: the flow's ``security-id`` and the account's
IP whitelist authenticate. Every answer is the original envelope
``{"api-response-code", "api-response-message", "request-id", "call-details"}`` with
HTTP 200, whatever the body code — except a body over 256 KB (HTTP 413, refused by the
body limit before it is read) and an internal fault (HTTP 500, body code 500). Bad input
never gives a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from flowhook.api.deps import RuntimeDep, client_address
from flowhook.usecases import outbound
from flowhook.usecases.outbound import Kind, Rejected, ResponseCode

router = APIRouter()

BODY: dict[str, Any] = {"requestBody": {"content": {"application/json": {"schema": {}}}}}
"""Any body: what is wrong with it is answered in the envelope (HTTP 200), not with a 4xx."""


@router.post("/kairos-apis/outbound/create", openapi_extra=BODY)
async def create_outbound(request: Request, rt: RuntimeDep) -> JSONResponse:
    """Start an outbound flow once per call of the body."""
    return await _create(request, rt, "outbound")


@router.post("/kairos-apis/outbounddialer/create", openapi_extra=BODY)
async def create_dialer(request: Request, rt: RuntimeDep) -> JSONResponse:
    """The same for dialer flows (agent-assisted calls)."""
    return await _create(request, rt, "dialer")


async def _create(request: Request, rt: RuntimeDep, kind: Kind) -> JSONResponse:
    raw = await request.body()
    try:
        outcome = await outbound.create(rt, raw, kind=kind, address=client_address(request))
    except Rejected as exc:
        status = 500 if exc.response_code is ResponseCode.FAILURE else 200
        return JSONResponse(exc.body(), status_code=status)
    return JSONResponse(outcome.body())
