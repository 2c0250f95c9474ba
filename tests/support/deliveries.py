"""Deliveries stored straight through the repository, as the outbox and the delivery engine
leave them: the rows that list, recovery and retention tests start from. Written once here
(it was copied into three test modules)."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.domain.message import AttemptRecord, OutgoingRequest
from flowhook.store import deliveries as delivery_repo
from flowhook.webhooks.delivery import endpoint_of

HOUR = 3600.0

BODY = b'{"event": "flow.completed"}'


def add_delivery(
    conn: Connection,
    account: Account,
    delivery_id: str | None = None,
    *,
    created_at: float,
    status: str = "FAILED",
    url: str = "https://crm.example.com/in",
    webhook_id: str | None = None,
    execution_uuid: str | None = None,
    due_at: float | None = None,
    retried: bool = False,
) -> str:
    """Store one delivery created at ``created_at`` and return its id (a new uuid unless
    given). A FAILED delivery was dead-lettered by a 500, a SUCCEEDED one took a 200, a
    PENDING one was never tried, or with ``retried`` got a 500 and waits for its retry a
    minute later. Not due during a test unless ``due_at`` says so, so a running worker
    leaves it alone."""
    delivery_id = delivery_id or str(uuid.uuid4())
    delivery_repo.insert(
        conn,
        delivery_id=delivery_id,
        account_id=account.id,
        execution_uuid=execution_uuid,
        webhook_id=webhook_id,
        endpoint=endpoint_of(url),
        request=OutgoingRequest("POST", url, {}, BODY, 5.0),
        secret_headers=None,
        due_at=created_at + 100 * HOUR if due_at is None else due_at,
        lease_owner=None,
        lease_until=None,
        now=created_at,
    )
    if status == "PENDING" and not retried:
        return delivery_id
    succeeded = status == "SUCCEEDED"
    attempt: AttemptRecord = {
        "at": created_at,
        "url": None,
        "status_code": 200 if succeeded else 500,
        "duration_ms": 1.0,
        "request_headers": {},
        "response_excerpt": None,
        "error_reason": None if succeeded else "SERVER_ERROR",
        "error_message": None,
    }
    delivery_repo.record_attempt(
        conn,
        delivery_id,
        attempt=attempt,
        status=status,
        next_due=created_at + 60 if status == "PENDING" else None,
        now=created_at,
    )
    return delivery_id
