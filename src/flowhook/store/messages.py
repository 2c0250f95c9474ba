"""Repository functions for the SMS and e-mails flows send: one row each, whose status
delivery reports and bounces update after the flow has gone on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from flowhook.store.db import is_storable_id
from flowhook.store.tables import channel_messages


@dataclass(frozen=True)
class MessageRow:
    id: str
    account_id: str
    execution_uuid: str | None
    channel: str
    adapter: str
    sender: str
    recipient: str
    status: str
    external_id: str | None = None
    detail: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0

    @classmethod
    def from_row(cls, row: Any) -> MessageRow:
        return cls(
            id=row.id,
            account_id=row.account_id,
            execution_uuid=row.execution_uuid,
            channel=row.channel,
            adapter=row.adapter,
            sender=row.sender,
            recipient=row.recipient,
            status=row.status,
            external_id=row.external_id,
            detail=row.detail,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


def insert(conn: Connection, row: MessageRow) -> None:
    conn.execute(
        channel_messages.insert().values(
            id=row.id,
            account_id=row.account_id,
            execution_uuid=row.execution_uuid,
            channel=row.channel,
            adapter=row.adapter,
            sender=row.sender[:320],
            recipient=row.recipient[:320],
            status=row.status,
            external_id=row.external_id,
            detail=row.detail,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
    )


def get(conn: Connection, message_id: str) -> MessageRow | None:
    if not is_storable_id(message_id, 36):
        return None
    row = conn.execute(select(channel_messages).where(channel_messages.c.id == message_id)).first()
    return MessageRow.from_row(row) if row else None


def set_status(
    conn: Connection,
    message_id: str,
    status: str,
    now: float,
    detail: str | None = None,
    *,
    external_id: str | None = None,
    only_if: str | None = None,
) -> MessageRow | None:
    """Set the status; with ``only_if``, only while the status is still that one (the
    adapter's answer must not overwrite a delivery report that came first)."""
    values: dict[str, Any] = {"status": status[:32], "updated_at": now}
    if detail is not None:
        values["detail"] = detail[:2000]
    if external_id is not None:
        values["external_id"] = external_id[:128]
    query = update(channel_messages).where(channel_messages.c.id == message_id)
    if only_if is not None:
        query = query.where(channel_messages.c.status == only_if)
    conn.execute(query.values(**values))
    return get(conn, message_id)


def set_external_id(conn: Connection, message_id: str, external_id: str) -> None:
    """The gateway's id for the message, as soon as the gateway gave it (its delivery
    reports name the message by it)."""
    conn.execute(
        update(channel_messages)
        .where(channel_messages.c.id == message_id)
        .values(external_id=external_id[:128])
    )


def by_external_id(conn: Connection, adapter: str, external_id: str) -> MessageRow | None:
    row = conn.execute(
        select(channel_messages).where(
            channel_messages.c.adapter == adapter,
            channel_messages.c.external_id == external_id[:128],
        )
    ).first()
    return MessageRow.from_row(row) if row else None
