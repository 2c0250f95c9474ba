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

import hashlib
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from flowhook.api.deps import RuntimeDep, client_address, ip_allowed
from flowhook.domain.account import Account
from flowhook.internal import outbound

router = APIRouter()

BODY: dict[str, Any] = {"requestBody": {"content": {"application/json": {"schema": {}}}}}
"""Any body: what is wrong with it is answered in the envelope (HTTP 200), not with a 4xx."""
log = structlog.get_logger(__name__)


@router.post("/kairos-apis/outbound/create", openapi_extra=BODY)
async def create_outbound(request: Request, rt: RuntimeDep) -> JSONResponse:
    """Start an outbound flow once per call of the body."""
    return await _create(request, rt, ("outbound",))


@router.post("/kairos-apis/outbounddialer/create", openapi_extra=BODY)
async def create_dialer(request: Request, rt: RuntimeDep) -> JSONResponse:
    """The same for dialer flows (agent-assisted calls)."""
    return await _create(request, rt, ("dialer",))


async def _create(request: Request, rt: RuntimeDep, flow_types: tuple[str, ...]) -> JSONResponse:
    raw = await request.body()
    client_ip = client_address(request)

    def allowed(account: Account) -> bool:
        return ip_allowed(client_ip, account.ip_whitelist)

    try:
        envelope = outbound.parse_body(raw)
        result = await outbound.create(
            rt.services,
            envelope,
            flow_types=flow_types,
            source="api",
            checksum=hashlib.sha256(raw).hexdigest(),
            ip_allowed=allowed,
        )
    except outbound.Rejected as exc:
        return JSONResponse(exc.body())
    except (SQLAlchemyError, OSError):
        log.exception("outbound create failed")
        failure = outbound.Rejected(outbound.ResponseCode.FAILURE, "please retry later")
        return JSONResponse(failure.body(), status_code=500)
    return JSONResponse(result.body())
