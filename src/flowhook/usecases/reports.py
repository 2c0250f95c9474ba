"""Delivery reports from SMS gateways: ``/sms/reports/{message id}?token=…`` with
Kannel's report ``type`` or a generic ``status``. A gateway cannot hold an API key, so the
message's own random token (in the report URL it was given) proves the report is about
that message; an unknown message and a wrong token are the same 404."""

from __future__ import annotations

import hmac

from flowhook.channels.http_sms import KANNEL_TYPES
from flowhook.channels.service import Channels
from flowhook.errors import Code, NotFound, ValidationFailed
from flowhook.runtime import Runtime

REPORTED_OVER_HTTP = frozenset({"http", "kannel"})
"""The adapters whose gateways report here (an SMPP receipt comes on the bind; the token
is only in the report URLs these adapters give)."""
STATUSES = frozenset({"DELIVERED", "UNDELIVERED", "BUFFERED", "SENT", "REJECTED", "FAILED"})


async def delivery_report(
    rt: Runtime,
    message_id: str,
    token: str,
    *,
    kannel_type: str | None = None,
    status: str | None = None,
) -> dict[str, str]:
    """Record a gateway's delivery report; the message's status afterwards."""
    if kannel_type is not None:
        if kannel_type not in KANNEL_TYPES:
            raise ValidationFailed(
                f"unknown report type {kannel_type!r} (1, 2, 4, 8 or 16)", code=Code.UNKNOWN_REPORT
            )
        new = KANNEL_TYPES[kannel_type]
    elif status is not None and status.upper() in STATUSES:
        new = status.upper()
    else:
        allowed = ", ".join(sorted(STATUSES))
        raise ValidationFailed(
            f"give type (Kannel) or status ({allowed})", code=Code.UNKNOWN_REPORT
        )
    channels = rt.services.get(Channels)
    message = await channels.message(message_id)
    if (
        message is None
        or message.adapter not in REPORTED_OVER_HTTP
        or not hmac.compare_digest((message.external_id or "").encode(), token.encode())
    ):
        raise NotFound(f"no message {message_id}", code=Code.MESSAGE_NOT_FOUND)
    updated = await channels.report(message_id, new, f"report: {new}")
    return {"id": message_id, "delivery_status": updated.status if updated else new}
