"""SMS: send a text (with variables) from a sender id through the account's SMS adapter.
The message is recorded in ``smsDetails`` with the gateway's first answer as its
``deliveryStatus`` (``SENT_TO_QUEUE``); a delivery report that arrives before the flow ends
updates it. Exit ``failed`` when the gateway refused it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowhook.channels.adapter import OutgoingMessage, message_id
from flowhook.domain.numbers import normalise
from flowhook.engine.context import StepContext
from flowhook.engine.widget import Outcome, WidgetConfig, register
from flowhook.widgets._report import MessageWidget


class SmsConfig(WidgetConfig):
    to: str = Field("$call.dnis.number", max_length=200)
    sender: str = Field(alias="from", min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=1_600)
    wait_report_s: float | None = Field(None, gt=0, le=86_400)
    """Wait (durably) this long for the delivery report: exits ``delivered``,
    ``undelivered`` or ``no_report``."""


@register
class Sms(MessageWidget[SmsConfig]):
    type = "sms"
    Config = SmsConfig

    def records(self, ctx: StepContext) -> list[dict[str, Any]]:
        return ctx.state.sms

    async def send(self, ctx: StepContext) -> Outcome:
        to = normalise(ctx.render(self.config.to), ctx.account.default_region)
        message = OutgoingMessage(
            id=message_id(ctx.state.uuid, self.id, ctx.state.step_count),
            account_id=ctx.account.id,
            sender=ctx.render(self.config.sender),
            to=to,
            text=ctx.render(self.config.text),
        )
        now = ctx.now()
        record: dict[str, Any] = {
            "id": message.id,
            "text": message.text,
            "to": to,
            "from": message.sender,
            "send_time": now,
        }
        return await self.hand_over(ctx, "sms", message, record, self.config.wait_report_s, now)
