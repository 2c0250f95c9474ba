"""Repository functions for the console's users, their sessions and failed sign-ins.

A session is kept server-side: the browser's cookie holds a random token, the table its
SHA-256 (a copy of the database opens no session), beside the session's CSRF token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, select, update

from flowhook.domain.user import Role, User
from flowhook.store.db import is_storable_id
from flowhook.store.tables import console_sessions, sign_in_failures, users


@dataclass(frozen=True)
class UserRecord:
    id: str
    account_id: str
    email: str
    role: str
    created_at: float
    password_hash: str
    must_change_password: bool = False

    @property
    def user(self) -> User:
        role: Role = "admin" if self.role == "admin" else "viewer"
        return User(
            self.id, self.account_id, self.email, role, self.created_at, self.must_change_password
        )


@dataclass(frozen=True)
class SessionRecord:
    user: UserRecord
    csrf_token: str
    expires_at: float


def _user(row: object) -> UserRecord:
    return UserRecord(
        id=row.id,  # type: ignore[attr-defined]
        account_id=row.account_id,  # type: ignore[attr-defined]
        email=row.email,  # type: ignore[attr-defined]
        role=row.role,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        password_hash=row.password_hash,  # type: ignore[attr-defined]
        must_change_password=bool(row.must_change_password),  # type: ignore[attr-defined]
    )


def create(
    conn: Connection,
    account_id: str,
    email: str,
    password_hash: str,
    role: str,
    now: float,
    *,
    must_change_password: bool = False,
) -> UserRecord:
    user_id = str(uuid.uuid4())
    conn.execute(
        users.insert().values(
            id=user_id,
            account_id=account_id,
            email=email,
            password_hash=password_hash,
            role=role,
            created_at=now,
            must_change_password=must_change_password,
        )
    )
    return UserRecord(user_id, account_id, email, role, now, password_hash, must_change_password)


def by_email(conn: Connection, email: str) -> UserRecord | None:
    if not is_storable_id(email, 254):
        return None
    row = conn.execute(select(users).where(users.c.email == email)).first()
    return _user(row) if row else None


def get(conn: Connection, account_id: str, user_id: str) -> UserRecord | None:
    if not is_storable_id(user_id, 36):
        return None
    row = conn.execute(
        select(users).where(users.c.id == user_id, users.c.account_id == account_id)
    ).first()
    return _user(row) if row else None


def list_for(conn: Connection, account_id: str) -> list[UserRecord]:
    rows = conn.execute(
        select(users)
        .where(users.c.account_id == account_id)
        .order_by(users.c.created_at, users.c.id)
    )
    return [_user(row) for row in rows]


def set_password(
    conn: Connection, user_id: str, password_hash: str, *, must_change: bool = False
) -> None:
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=password_hash, must_change_password=must_change)
    )


def remove(conn: Connection, account_id: str, user_id: str) -> bool:
    """Delete a user and its sessions; False when the account has no such user."""
    if get(conn, account_id, user_id) is None:
        return False
    conn.execute(delete(console_sessions).where(console_sessions.c.user_id == user_id))
    conn.execute(delete(users).where(users.c.id == user_id))
    return True


# sessions ---------------------------------------------------------------------------------


def open_session(
    conn: Connection, token_hash: str, user_id: str, csrf_token: str, now: float, expires_at: float
) -> None:
    conn.execute(
        console_sessions.insert().values(
            token_hash=token_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            expires_at=expires_at,
        )
    )


def session(conn: Connection, token_hash: str, now: float) -> SessionRecord | None:
    """The session of a token and its user, unless it has expired."""
    row = conn.execute(
        select(users, console_sessions.c.csrf_token, console_sessions.c.expires_at)
        .join(console_sessions, console_sessions.c.user_id == users.c.id)
        .where(console_sessions.c.token_hash == token_hash, console_sessions.c.expires_at > now)
    ).first()
    if row is None:
        return None
    return SessionRecord(_user(row), row.csrf_token, row.expires_at)


def close_session(conn: Connection, token_hash: str, now: float) -> None:
    """End a session (and, on the way, every expired one)."""
    conn.execute(
        delete(console_sessions).where(
            (console_sessions.c.token_hash == token_hash) | (console_sessions.c.expires_at <= now)
        )
    )


def close_other_sessions(conn: Connection, user_id: str, keep_csrf_token: str) -> None:
    """End the user's sessions but the one with ``keep_csrf_token`` (a password change)."""
    c = console_sessions.c
    conn.execute(
        delete(console_sessions).where(c.user_id == user_id, c.csrf_token != keep_csrf_token)
    )


# failed sign-ins --------------------------------------------------------------------------


def record_failure(conn: Connection, email: str, address: str, now: float, since: float) -> None:
    """Note a failed sign-in; failures older than ``since`` are forgotten on the way."""
    conn.execute(delete(sign_in_failures).where(sign_in_failures.c.at < since))
    conn.execute(sign_in_failures.insert().values(email=email, address=address, at=now))


def failures(conn: Connection, email: str, address: str, since: float) -> tuple[int, int]:
    """Failed sign-ins since ``since``: (for this e-mail from this address, from this
    address for any e-mail)."""
    recent = sign_in_failures.c.at >= since
    pair = conn.execute(
        select(func.count())
        .select_from(sign_in_failures)
        .where(sign_in_failures.c.email == email, sign_in_failures.c.address == address, recent)
    ).scalar_one()
    anyone = conn.execute(
        select(func.count())
        .select_from(sign_in_failures)
        .where(sign_in_failures.c.address == address, recent)
    ).scalar_one()
    return int(pair), int(anyone)


def clear_failures(conn: Connection, email: str, address: str) -> None:
    """A successful sign-in forgets the pair's failures."""
    conn.execute(
        delete(sign_in_failures).where(
            sign_in_failures.c.email == email, sign_in_failures.c.address == address
        )
    )
