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


async def delivery_report(
    message_id: str,
    rt: RuntimeDep,
    token: str = Query(max_length=100),
    type: str | None = Query(None, max_length=8),  # Kannel's parameter name
    status: str | None = Query(None, max_length=32),
) -> dict[str, str]:
    # no docstring: it would become the GET operation's description in the OpenAPI document
    return await reports.delivery_report(rt, message_id, token, kannel_type=type, status=status)


# One endpoint for both methods; the POST keeps the name (and operation id) it was published
# under.
REPORT_PATH = "/sms/reports/{message_id}"
router.add_api_route(REPORT_PATH, delivery_report, methods=["GET"], responses=error_responses(404))
router.add_api_route(
    REPORT_PATH,
    delivery_report,
    methods=["POST"],
    name="post_delivery_report",
    description="The same, for gateways that POST their reports (the parameters in the query).",
    responses=error_responses(404),
)
