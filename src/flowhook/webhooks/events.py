"""Operational events: what happens to an account's webhooks, told to the webhook the
account named for it (``webhook.failing``, ``webhook.disabled``, ``webhook.recovered``,
``delivery.exhausted``), and to the e-mail address it named (``worker/ops_mail.py``).

An event is a delivery like any other — created by ``DeliveryEngine.enqueue`` (handed in
as ``enqueue``: this module sits below the engine), signed, retried, in the delivery log —
and it is written in the same transaction as the change it tells of, so a crash loses
neither. Nothing is told about the operational webhook itself: its own failures, its
disabling or its dead letters would otherwise produce events to the webhook that failed,
which would fail in turn.

The body follows the Standard Webhooks payload shape: ``{"type", "timestamp", "data"}``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from flowhook.engine.templating import lookup_in
from flowhook.ids import stable_id
from flowhook.store import ops_mails as mail_repo
from flowhook.store import webhook_health as health_repo
from flowhook.store import webhooks as webhook_repo
from flowhook.store.secrets import Cipher
from flowhook.webhooks.outgoing import Enqueue, NewDelivery, Pending
from flowhook.webhooks.request import build_request

FAILING, DISABLED, RECOVERED, EXHAUSTED = (
    "webhook.failing",
    "webhook.disabled",
    "webhook.recovered",
    "delivery.exhausted",
)


Followup = tuple[Pending, Any]
"""An event written in a transaction, and what its write returned: sent after the commit."""


def payload(event_type: str, now: float, data: dict[str, Any]) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
    return {"type": event_type, "timestamp": stamp.replace("+00:00", "Z"), "data": data}


class OperationalEvents:
    def __init__(self, cipher: Cipher, enqueue: Enqueue) -> None:
        self.cipher = cipher
        self.enqueue = enqueue

    def emit(
        self,
        conn: Connection,
        *,
        account_id: str,
        event_type: str,
        about: str | None,
        key: str,
        data: dict[str, Any],
        now: float,
    ) -> Followup | None:
        """Write the event ``event_type`` about webhook ``about`` (None: a custom target)
        into the caller's transaction: an e-mail to the account's operational address, if
        it has one, and a delivery to its operational webhook, if it has one and it is not
        ``about``. ``key`` names this occurrence: the event's ids derive from it. Returns
        the delivery, to send after the commit."""
        body = payload(event_type, now, data)
        address = mail_repo.ops_email(conn, account_id)
        if address is not None:  # an e-mail makes no event when it fails: no loop
            mail_id = stable_id(uuid.NAMESPACE_URL, f"mail:{event_type}:{key}")
            mail_repo.add(conn, mail_id, account_id, address, body, now)
        ops_id = health_repo.ops_webhook_id(conn, account_id)
        if ops_id is None or ops_id == about:
            return None
        ops = webhook_repo.get(conn, account_id, ops_id)
        if ops is None:
            return None
        # the event is the body, whatever body the webhook would send for a flow
        spec = ops.real_spec(self.cipher).model_copy(update={"body_type": "NONE", "body": None})
        request, _ = build_request(spec, lookup_in({}), default_payload=body)
        pending = self.enqueue(
            NewDelivery(
                f"event:{event_type}:{key}",
                request,
                account_id=account_id,
                execution_uuid=None,
                webhook=ops,
                now=now,
                target=spec,
            )
        )
        return pending, pending.write(conn)


__all__ = ["DISABLED", "EXHAUSTED", "FAILING", "RECOVERED", "OperationalEvents", "payload"]
