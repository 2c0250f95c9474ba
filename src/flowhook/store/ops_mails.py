"""Repository functions for operational events sent by e-mail (``worker/ops_mail.py``).

A mail row is written in the transaction that makes the event, like the event's delivery
to the operational webhook, so a crash loses neither. Workers claim due rows under a lease
(one conditional UPDATE per row: of two workers, one wins), send them, and record the
outcome: SENT, due again later (a retry), or FAILED once out of attempts — kept, visible.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Connection, or_, select, update

from flowhook.store.tables import accounts, ops_mails

PENDING, SENT, FAILED = "PENDING", "SENT", "FAILED"


class Mail(NamedTuple):
    id: str
    account_id: str
    recipient: str
    event: dict[str, Any]
    attempts: int


def ops_email(conn: Connection, account_id: str) -> str | None:
    """The e-mail address the account named for operational events, if any."""
    found: str | None = conn.execute(
        select(accounts.c.ops_email).where(accounts.c.id == account_id)
    ).scalar_one_or_none()
    return found


def set_ops_email(conn: Connection, account_id: str, address: str | None) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(ops_email=address))


def add(
    conn: Connection,
    mail_id: str,
    account_id: str,
    recipient: str,
    event: dict[str, Any],
    now: float,
) -> None:
    conn.execute(
        ops_mails.insert().values(
            id=mail_id,
            account_id=account_id,
            recipient=recipient,
            event_type=str(event["type"]),
            event=event,
            status=PENDING,
            attempts=0,
            due_at=now,
            created_at=now,
            updated_at=now,
        )
    )


def claim(conn: Connection, owner: str, now: float, lease_until: float, limit: int) -> list[Mail]:
    """Lease up to ``limit`` due mails, oldest first."""
    m = ops_mails.c
    free = or_(m.lease_until.is_(None), m.lease_until < now)
    ids = list(
        conn.execute(
            select(m.id).where(m.due_at <= now, free).order_by(m.due_at).limit(limit)
        ).scalars()
    )
    got = []
    for mail_id in ids:
        won = conn.execute(
            update(ops_mails)
            .where(m.id == mail_id, m.status == PENDING, free)
            .values(lease_owner=owner, lease_until=lease_until)
        ).rowcount
        if won:
            got.append(mail_id)
    if not got:
        return []
    rows = conn.execute(select(ops_mails).where(m.id.in_(got)))
    return [Mail(r.id, r.account_id, r.recipient, r.event, r.attempts) for r in rows]


def record(
    conn: Connection,
    mail_id: str,
    owner: str,
    *,
    status: str,
    next_due: float | None,
    error: str | None,
    now: float,
) -> None:
    """The outcome of one attempt: SENT, PENDING again at ``next_due``, or FAILED."""
    m = ops_mails.c
    conn.execute(
        update(ops_mails)
        .where(m.id == mail_id, m.lease_owner == owner)
        .values(
            status=status,
            attempts=m.attempts + 1,
            due_at=next_due,
            lease_owner=None,
            lease_until=None,
            last_error=error[:2000] if error else None,
            updated_at=now,
        )
    )


def list_for(conn: Connection, account_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The account's operational e-mails, newest first."""
    m = ops_mails.c
    rows = conn.execute(
        select(ops_mails)
        .where(m.account_id == account_id)
        .order_by(m.created_at.desc())
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "to": r.recipient,
            "type": r.event_type,
            "status": r.status,
            "attempts": r.attempts,
            "next_attempt_at": r.due_at,
            "last_error": r.last_error,
            "created_at": r.created_at,
        }
        for r in rows
    ]
