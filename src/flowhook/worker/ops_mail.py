"""Operational events by e-mail: a loop of every worker process that sends the mails
``webhooks/events.py`` wrote (``store/ops_mails.py``) through the account's e-mail channel
adapter (SMTP, or the simulator by default: ``channels/``).

Durable like a delivery: the row is written with the change it tells of; a worker leases
it, sends it, and records the outcome. A mail the server did not take (unreachable, a 4xx
answer) is tried again on the delivery schedule (``FLOWHOOK_DELIVERY_SCHEDULE_S``), and
only a refusal (a 5xx, an unverified sender) or the end of the schedule makes it FAILED;
it stays in the table either way. A worker killed mid-send leaves a lease that expires,
and another worker sends the mail again (at least once, like deliveries).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from flowhook.channels.adapter import OutgoingMessage
from flowhook.channels.service import Channels
from flowhook.logging import get_logger
from flowhook.settings import Settings
from flowhook.store import ops_mails as mail_repo
from flowhook.store.catalog import Catalog
from flowhook.store.db import Store
from flowhook.store.ops_mails import Mail
from flowhook.worker.background import BackgroundLoop

log = get_logger(__name__)

BATCH = 20


def subject_of(mail: Mail) -> str:
    data = mail.event.get("data") or {}
    about = data.get("webhook_id") or data.get("delivery_id") or ""
    return f"[flowhook] {mail.event.get('type')} {about}".strip()


class OpsMailer(BackgroundLoop):
    """One per worker process."""

    name = "operational e-mails"

    def __init__(
        self,
        store: Store,
        settings: Settings,
        catalog: Catalog,
        channels: Channels,
        owner: str,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.settings = settings
        self.catalog = catalog
        self.channels = channels
        self.owner = owner
        self.clock = clock
        super().__init__()

    async def run_once(self) -> int:
        """Send the mails due now; how many were tried."""
        now = self.clock()
        until = now + self.settings.lease_seconds
        mails = await self.store.write(lambda c: mail_repo.claim(c, self.owner, now, until, BATCH))
        for mail in mails:
            await self._send(mail)
        return len(mails)

    async def _send(self, mail: Mail) -> None:
        account = await self.catalog.account(mail.account_id)
        options = self.channels.options(account)
        sender = options.email_senders[0] if options.email_senders else self.settings.ops_mail_from
        message = OutgoingMessage(
            id=mail.id,
            account_id=mail.account_id,
            sender=sender,
            to=mail.recipient,
            subject=subject_of(mail),
            text=json.dumps(mail.event, indent=2, sort_keys=True),
        )
        try:
            handed = await self.channels.email(account).send(message)
            status, error = handed.status, handed.detail
        except Exception as exc:  # an adapter that could not even try: tried again later
            log.exception("operational e-mail not handed over", mail=mail.id)
            status, error = "FAILED", f"{type(exc).__name__}: {exc}"
        now = self.clock()
        schedule = self.settings.delivery_schedule_s
        if status not in ("FAILED", "REJECTED", "UNDELIVERED", "BOUNCED"):
            outcome, next_due = mail_repo.SENT, None
        elif status == "FAILED" and mail.attempts + 1 < len(schedule):
            outcome = mail_repo.PENDING
            next_due = now + self.settings.scaled(schedule[mail.attempts + 1])
        else:
            outcome, next_due = mail_repo.FAILED, None
        await self.store.write(
            lambda c: mail_repo.record(
                c, mail.id, self.owner, status=outcome, next_due=next_due, error=error, now=now
            )
        )

    async def _forever(self) -> None:
        while True:
            try:
                tried = await self.run_once()
            except Exception:
                log.exception("sending operational e-mails failed")
                tried = 0
            if not tried:
                await asyncio.sleep(max(self.settings.poll_interval_s, 0.5))
