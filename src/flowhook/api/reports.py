"""Delivery reports from SMS gateways (``/sms/reports/{message_id}``), over
:mod:`flowhook.usecases.reports`. Outside ``/v1`` because there is no API key: the
message's token in the URL is the credential (Kannel calls its dlr-url with GET; other
gateways may POST)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from flowhook.api.deps import RuntimeDep
from flowhook.api.openapi import error_responses
from flowhook.usecases import reports

router = APIRouter()


@router.get("/sms/reports/{message_id}", responses=error_responses(404))
async def delivery_report(
    message_id: str,
    rt: RuntimeDep,
    token: str = Query(max_length=100),
    type: str | None = Query(None, max_length=8),  # Kannel's parameter name
    status: str | None = Query(None, max_length=32),
) -> dict[str, str]:
    return await reports.delivery_report(rt, message_id, token, kannel_type=type, status=status)


@router.post("/sms/reports/{message_id}", responses=error_responses(404))
async def post_delivery_report(
    message_id: str,
    rt: RuntimeDep,
    token: str = Query(max_length=100),
    type: str | None = Query(None, max_length=8),  # Kannel's parameter name
    status: str | None = Query(None, max_length=32),
) -> dict[str, str]:
    """The same, for gateways that POST their reports (the parameters in the query)."""
    return await reports.delivery_report(rt, message_id, token, kannel_type=type, status=status)
