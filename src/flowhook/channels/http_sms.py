"""SMS through an HTTP gateway: a generic adapter (``http``: the account's request template)
and a preset for Kannel's ``sendsms`` interface (``kannel``). The request is built by the
webhook request builder (escaping per place) and sent by the process's HTTP client, so the
egress guard and the account's plain-HTTP switch apply as they do to webhooks.

Delivery reports come back to ``/sms/reports/{message id}?token=…`` (the token is the
message's own, so nobody else can report on it). Kannel's ``dlr-url`` adds its report type
(``%d``): 1 delivered, 2 undelivered, 4 buffered, 8 accepted by the SMSC, 16 rejected by it.
"""

from __future__ import annotations

from typing import Any

from flowhook.channels.adapter import Handed, OutgoingMessage, SmsAdapter
from flowhook.channels.registry import register
from flowhook.domain.request_spec import RequestSpec
from flowhook.engine.templating import MISSING
from flowhook.webhooks.request import build_request

KANNEL_TYPES = {
    "1": "DELIVERED",
    "2": "UNDELIVERED",
    "4": "BUFFERED",
    "8": "SENT",
    "16": "REJECTED",
}
"""Kannel's delivery-report types (``%d`` in its dlr-url) as ``deliveryStatus`` values."""


def report_url(base: str, message: OutgoingMessage) -> str:
    return f"{base.rstrip('/')}/sms/reports/{message.id}?token={message.report_token}"


@register("sms", "http")
class HttpSms(SmsAdapter):
    name = "http"

    def _spec(self) -> tuple[RequestSpec, str | None]:
        gateway = self.context.options.http_sms
        assert gateway is not None  # ChannelSettings requires it for this adapter
        return gateway.request, gateway.report_url

    def _values(self, message: OutgoingMessage, base: str | None) -> dict[str, Any]:
        base = base or self.context.settings.base_url
        return {
            "sys.sms_id": message.id,
            "sys.sms_to": message.to,
            "sys.sms_from": message.sender,
            "sys.sms_text": message.text,
            "sys.report_url": report_url(base, message),
        }

    async def send(self, message: OutgoingMessage) -> Handed:
        http = self.context.http
        if http is None:
            return Handed("FAILED", detail="no HTTP client in this process")
        spec, base = self._spec()
        values = self._values(message, base)
        request, _ = build_request(spec, lambda name: values.get(name, MISSING))
        result = await http.send(request, http_enabled=self.context.account.http_enabled)
        answer = result.body[:300].decode("utf-8", "replace").strip()
        if result.ok:
            return Handed("SENT_TO_QUEUE", detail=f"{result.status} {answer}")
        if result.status is not None and 400 <= result.status < 500:
            return Handed("REJECTED", detail=f"{result.status} {answer}")
        reason = result.error_message or f"{result.status} {answer}"
        return Handed("FAILED", detail=reason[:500])


@register("sms", "kannel")
class KannelSms(HttpSms):
    name = "kannel"

    def _spec(self) -> tuple[RequestSpec, str | None]:
        kannel = self.context.options.kannel
        assert kannel is not None  # ChannelSettings requires it for this adapter
        query = {
            "username": kannel.username,
            "password": kannel.password,
            "from": "$sys.sms_from",
            "to": "$sys.sms_to",
            "text": "$sys.sms_text",
            "charset": "UTF-8",
            "dlr-mask": str(kannel.dlr_mask),
            "dlr-url": "$sys.report_url&type=%d",
        }
        spec = RequestSpec(method="GET", url=kannel.url, query=query, timeout_s=kannel.timeout_s)
        return spec, kannel.report_url
