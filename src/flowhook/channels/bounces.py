"""Bounces: an inbound SMTP endpoint (``aiosmtpd``, on this process's event loop) that
receives delivery status notifications (DSN, RFC 3464) for the e-mails flows sent and
turns them into delivery reports. Point the relay's bounce address (the envelope sender)
at ``FLOWHOOK_BOUNCE_SMTP_HOST:FLOWHOOK_BOUNCE_SMTP_PORT``.

A DSN names the message it is about in its returned headers (``text/rfc822-headers`` or
``message/rfc822``): the SMTP adapter gives every message the Message-ID
``<{message id}@flowhook>``. ``Action: failed`` marks the message ``BOUNCED``,
``Action: delivered`` ``DELIVERED``; ``delayed`` and ``relayed`` change nothing. Mail that
is not a DSN about one of our messages is refused (550), so the endpoint is no relay.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from email.message import EmailMessage, Message
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from flowhook.channels.service import Channels
from flowhook.logging import get_logger

log = get_logger(__name__)

_OURS = re.compile(r"<([0-9a-f-]{36})@flowhook>")
ACTIONS = {"failed": "BOUNCED", "delivered": "DELIVERED"}


def message_id_header(message_id: str) -> str:
    """The Message-ID the SMTP adapter gives a message, by which its DSN finds it."""
    return f"<{message_id}@flowhook>"


def parse_dsn(raw: bytes) -> tuple[str, str, str] | None:
    """(our message id, deliveryStatus, diagnostic) from a DSN, or None when it is not a DSN
    about one of our messages or says nothing final."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    if parsed.get_content_type() != "multipart/report":
        return None
    action = diagnostic = ""
    ours: str | None = None
    for part in parsed.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in _status_blocks(part):
                action = action or str(block.get("Action", "")).strip().lower()
                diagnostic = diagnostic or str(block.get("Diagnostic-Code", "")).strip()
        elif kind in ("text/rfc822-headers", "message/rfc822"):
            found = _OURS.search(_text(part))
            ours = ours or (found.group(1) if found else None)
    status = ACTIONS.get(action)
    if ours is None or status is None:
        return None
    return ours, status, diagnostic or f"DSN action {action}"


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):  # the parser split the status groups into messages
        return [p for p in payload if isinstance(p, Message)]
    return [email.message_from_string(block) for block in str(payload).split("\n\n")]


def _text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):
        return "\n".join(str(p) for p in payload)
    if isinstance(part, EmailMessage) and part.get_content_type() == "text/rfc822-headers":
        return str(part.get_content())
    return str(payload)


class _Handler:
    def __init__(self, channels: Channels) -> None:
        self.channels = channels

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        found = parse_dsn(content if isinstance(content, bytes) else content.encode())
        if found is None:
            return "550 5.7.1 only delivery status notifications for flowhook messages"
        message_id, status, diagnostic = found
        updated = await self.channels.report(message_id, status, diagnostic[:500])
        if updated is None:
            return "550 5.1.1 no such message"
        log.info("bounce received", message=message_id, status=status)
        return "250 2.0.0 report recorded"


class BounceServer:
    """The inbound SMTP endpoint; ``start`` listens, ``stop`` closes."""

    def __init__(self, channels: Channels, host: str, port: int) -> None:
        self.channels = channels
        self.host = host
        self.port = port
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        handler = _Handler(self.channels)

        def protocol() -> Any:
            return SMTP(handler, hostname="flowhook", data_size_limit=1_000_000, loop=loop)

        self._server = await loop.create_server(protocol, self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
