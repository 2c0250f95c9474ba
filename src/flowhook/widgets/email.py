"""Email: send an e-mail (subject and body with variables; ``html`` for an HTML body, sent
with a plain-text alternative) through the account's e-mail adapter, from one of its
verified senders. Recorded in ``emailDetails`` with the server's answer as its
``deliveryStatus``; a bounce that arrives before the flow ends updates it. Exit ``failed``
when the server refused the message or could not be reached.
"""

from __future__ import annotations

import html
import re
from typing import Any

from pydantic import Field

from flowhook.channels.adapter import OutgoingMessage, message_id
from flowhook.engine import templating
from flowhook.engine.context import StepContext
from flowhook.engine.widget import Outcome, WidgetConfig, register
from flowhook.errors import Code, WidgetError
from flowhook.widgets._report import MessageWidget

_TAG = re.compile(r"<[^>]+>")
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")


def _address(ctx: StepContext, template: str) -> str:
    value = ctx.render(template).strip()
    if not _ADDRESS.match(value):
        raise WidgetError(f"{value!r} is not an e-mail address", code=Code.INVALID_EMAIL_ADDRESS)
    return value


class EmailConfig(WidgetConfig):
    to: str = Field(min_length=1, max_length=320)
    sender: str = Field(alias="from", min_length=3, max_length=320)
    subject: str = Field(min_length=1, max_length=998)
    body: str = Field(min_length=1, max_length=100_000)
    html: bool = False
    """The body is HTML: variables are HTML-escaped in it, and a text part is derived."""
    wait_report_s: float | None = Field(None, gt=0, le=86_400)
    """Wait (durably) this long for a bounce or delivery notification: exits ``delivered``,
    ``undelivered`` (bounced) or ``no_report``."""


@register
class Email(MessageWidget[EmailConfig]):
    type = "email"
    Config = EmailConfig

    def records(self, ctx: StepContext) -> list[dict[str, Any]]:
        return ctx.state.emails

    async def send(self, ctx: StepContext) -> Outcome:
        if self.config.html:
            body_html: str | None = ctx.render(self.config.body, templating.xml)
            text = html.unescape(_TAG.sub("", body_html or ""))
        else:
            body_html = None
            text = ctx.render(self.config.body)
        sender, to = _address(ctx, self.config.sender), _address(ctx, self.config.to)
        message = OutgoingMessage(
            id=message_id(ctx.state.uuid, self.id, ctx.state.step_count),
            account_id=ctx.account.id,
            sender=sender,
            to=to,
            subject=ctx.render(self.config.subject).replace("\r", " ").replace("\n", " "),
            text=text,
            html=body_html,
        )
        record = {
            "id": message.id,
            "subject": message.subject,
            "content": body_html if body_html is not None else text,
            "from": message.sender,
            "to": message.to,
        }
        return await self.hand_over(ctx, "email", message, record, self.config.wait_report_s)
