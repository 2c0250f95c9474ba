"""Console users: creating and removing them, signing in and out, and the session a
signed-in browser carries.

The rules live here, for the CLI (``flowhook user create``), the Settings page and the
sign-in page alike:

- an e-mail address names one user of the whole platform (the sign-in form asks for no
  account: the address says which), stored lower-cased;
- passwords are hashed with argon2id (``argon2-cffi``); hashing takes tens of
  milliseconds of CPU on purpose, so it runs in a thread, never on the event loop; an
  unknown address costs the same hash as a wrong password, so timing tells nobody which
  addresses exist;
- failed sign-ins are counted in the database (every server process sees them) per e-mail
  and address, and per address: past ``sign_in_max_failures`` in ``sign_in_window_s`` for
  one e-mail from one address (or ten times as many from one address for any e-mails), the
  next tries are refused with ``SIGN_IN_RATE_LIMITED`` (429) until the window moves on.
  Counting per account alone would let anyone lock a user out from anywhere;
- the account's IP whitelist applies to the console as to the API, at sign-in and on
  every page;
- sessions are kept server-side (``console_sessions``): signing out, removing a user and
  expiry end a session at once, which a signed cookie cannot promise; the browser holds
  a random token whose SHA-256 is stored, beside the session's CSRF token;
- ``viewer`` reads, ``admin`` also changes things and sees secrets: :func:`require_admin`
  is the one check;
- a password someone else knows is one-time: one flowhook made up (printed by
  ``flowhook user create``, shown on the Settings page) or ``--temporary`` from stdin. Its
  user must choose a new one (:func:`change_password`) before using the console
  (:func:`require_own_password`). A password read from stdin without ``--temporary`` is
  taken as the user's own choice (an operator creating their own user, a script), and the
  demo user's is kept in ``demo.json`` for ``make run`` to print: neither is forced.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass, replace

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.domain.user import Role, User
from flowhook.errors import (
    Code,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from flowhook.runtime import Runtime
from flowhook.store import accounts as account_repo
from flowhook.store import demo as demo_repo
from flowhook.store import users as user_repo
from flowhook.usecases.accounts import ip_allowed

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" is only load
ADDRESS_FACTOR = 10
"""One address may fail this many times more than one e-mail from it (many users behind
one office NAT sign in from one address)."""

_hasher = PasswordHasher()  # argon2id, RFC 9106's low-memory profile
_UNKNOWN = _hasher.hash(secrets.token_urlsafe(16))
"""Verified against when the e-mail names nobody: the same work as a wrong password."""


def _email(value: str) -> str:
    value = value.strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value):
        raise ValueError("an e-mail address looks like name@example.com")
    return value


class NewUser(BaseModel):
    """A user as an admin (or the operator's CLI) adds one; without a password, one is
    made up and shown once."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    role: Role = "viewer"
    password: str | None = Field(None, min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)

    @field_validator("email")
    @classmethod
    def _address(cls, value: str) -> str:
        return _email(value)


@dataclass(frozen=True)
class CreatedUser:
    """A new user and its password: the only time the password is shown."""

    user: User
    password: str


@dataclass(frozen=True)
class Visitor:
    """Who a console request comes from: a signed-in user, its account, and the CSRF token
    its forms and htmx requests must carry."""

    user: User
    account: Account
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token goes into the browser's cookie (shown nowhere else)."""

    token: str
    visitor: Visitor
    expires_at: float


def new_password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 bits


async def _hash(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# users ------------------------------------------------------------------------------------


def _insert(
    conn: Connection, account_id: str, form: NewUser, hashed: str, now: float, must_change: bool
) -> User:
    if user_repo.by_email(conn, form.email) is not None:
        raise Conflict(f"{form.email} is a user already", code=Code.USER_EMAIL_TAKEN)
    return user_repo.create(
        conn, account_id, form.email, hashed, form.role, now, must_change_password=must_change
    ).user


async def create(
    rt: Runtime, account: Account, form: NewUser, *, one_time: bool | None = None
) -> CreatedUser:
    """A user of ``account``; USER_EMAIL_TAKEN when the address is anyone's already.
    ``one_time`` (by default: when the password is made up here) makes the user choose a
    new password at first sign-in."""
    password = form.password or new_password()
    must_change = form.password is None if one_time is None else one_time
    hashed, now = await _hash(password), rt.now()
    user = await rt.store.write(lambda c: _insert(c, account.id, form, hashed, now, must_change))
    return CreatedUser(user, password)


async def create_in(
    rt: Runtime, account_id: str, form: NewUser, *, one_time: bool | None = None
) -> CreatedUser:
    """The operator's ``flowhook user create ACCOUNT EMAIL``: any account, by id."""
    account = await rt.store.read(lambda c: account_repo.get(c, account_id))
    if account is None:
        raise NotFound(f"no account {account_id}", code=Code.ACCOUNT_NOT_FOUND)
    return await create(rt, account, form, one_time=one_time)


class PasswordChange(BaseModel):
    """The change-password form: the password in use, and the new one twice."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=MAX_PASSWORD)
    new_password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)
    repeat_password: str = Field(max_length=MAX_PASSWORD)


async def change_password(rt: Runtime, visitor: Visitor, form: PasswordChange) -> User:
    """Replace the visitor's password (any role changes its own). INVALID_CREDENTIALS when
    the current password is wrong, VALIDATION_FAILED (at the field) when the new one is
    not typed the same twice or is the one in use; the user's other sessions end (someone
    who knew the old password is signed out), this one goes on."""
    if form.new_password != form.repeat_password:
        raise ValidationFailed(
            "the two new passwords differ",
            details=[{"path": "repeat_password", "message": "not the same as the new password"}],
        )
    if form.new_password == form.current_password:
        raise ValidationFailed(
            "the new password is the one in use",
            details=[{"path": "new_password", "message": "choose another than the one in use"}],
        )
    record = await rt.store.read(lambda c: user_repo.by_email(c, visitor.user.email))
    current = form.current_password
    if record is None or not await asyncio.to_thread(_verify, record.password_hash, current):
        raise Unauthorized(
            "the current password is not right",
            code=Code.INVALID_CREDENTIALS,
            details=[{"path": "current_password", "message": "not your current password"}],
        )
    hashed = await _hash(form.new_password)

    def store(conn: Connection) -> None:
        user_repo.set_password(conn, record.id, hashed)
        user_repo.close_other_sessions(conn, record.id, visitor.csrf_token)

    await rt.store.write(store)
    return replace(record.user, must_change_password=False)


def require_own_password(visitor: Visitor) -> None:
    """PASSWORD_CHANGE_REQUIRED while the visitor signs in with a one-time password."""
    if visitor.user.must_change_password:
        raise Forbidden(
            "choose your own password first: yours was a one-time password",
            code=Code.PASSWORD_CHANGE_REQUIRED,
        )


async def list_all(rt: Runtime, account: Account) -> list[User]:
    """The account's users, oldest first."""
    records = await rt.store.read(lambda c: user_repo.list_for(c, account.id))
    return [r.user for r in records]


async def delete(rt: Runtime, visitor: Visitor, user_id: str) -> None:
    """Remove a user of the visitor's account (its sessions end at once). An admin cannot
    remove themself (USER_IS_YOU): the account would lose the one admin it may have."""
    require_admin(visitor)
    if user_id == visitor.user.id:
        raise Conflict("you cannot remove yourself", code=Code.USER_IS_YOU)
    removed = await rt.store.write(lambda c: user_repo.remove(c, visitor.account.id, user_id))
    if not removed:
        raise NotFound(f"no user {user_id}", code=Code.USER_NOT_FOUND)


def require_admin(visitor: Visitor) -> None:
    """The one role check: only an admin changes things or sees secrets."""
    if not visitor.is_admin:
        raise Forbidden(
            "this needs an admin: viewers can look but not change anything",
            code=Code.ADMIN_REQUIRED,
        )


# signing in -------------------------------------------------------------------------------


def _whitelisted(account: Account, address: str | None) -> None:
    if not ip_allowed(address, account.ip_whitelist):
        raise Forbidden(
            f"{address} is not in this account's IP whitelist", code=Code.IP_NOT_WHITELISTED
        )


async def sign_in(rt: Runtime, email: str, password: str, address: str | None) -> SignedIn:
    """A session for the user of ``email`` if ``password`` is theirs.

    Refused with INVALID_CREDENTIALS (401) — the same for an unknown address and a wrong
    password —, SIGN_IN_RATE_LIMITED (429) after too many failures, or IP_NOT_WHITELISTED
    (403) from an address the account does not allow."""
    settings = rt.settings
    # stored and compared as given, bounded and without NUL (PostgreSQL refuses it in text)
    email = email.replace("\x00", "").strip().lower()[:254]
    where = (address or "unknown").replace("\x00", "")[:64]
    now = rt.now()
    since = now - settings.sign_in_window_s
    pair, anyone = await rt.store.read(lambda c: user_repo.failures(c, email, where, since))
    if pair >= settings.sign_in_max_failures or anyone >= (
        settings.sign_in_max_failures * ADDRESS_FACTOR
    ):
        minutes = max(1, round(settings.sign_in_window_s / 60))
        raise TooManyRequests(
            f"too many failed sign-ins from {where}: try again in {minutes} minutes",
            code=Code.SIGN_IN_RATE_LIMITED,
            details={"retry_after_s": settings.sign_in_window_s},
        )
    record = await rt.store.read(lambda c: user_repo.by_email(c, email))
    given = password[:MAX_PASSWORD]
    matches = await asyncio.to_thread(_verify, record.password_hash if record else _UNKNOWN, given)
    if record is None or not matches:
        await rt.store.write(lambda c: user_repo.record_failure(c, email, where, now, since))
        raise Unauthorized("wrong e-mail or password", code=Code.INVALID_CREDENTIALS)
    account = await rt.store.read(lambda c: account_repo.get(c, record.account_id))
    if account is None:  # pragma: no cover - a user's account is never deleted
        raise Unauthorized("wrong e-mail or password", code=Code.INVALID_CREDENTIALS)
    _whitelisted(account, address)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = now + settings.console_session_s

    def open_session(conn: Connection) -> None:
        user_repo.clear_failures(conn, email, where)
        user_repo.open_session(conn, _token_hash(token), record.id, csrf, now, expires_at)

    await rt.store.write(open_session)
    return SignedIn(token, Visitor(record.user, account, csrf), expires_at)


async def visitor(rt: Runtime, token: str | None, address: str | None) -> Visitor:
    """Who holds the session ``token``: SESSION_REQUIRED (401) for none, an expired or an
    ended one; IP_NOT_WHITELISTED (403) from an address the account does not allow."""
    if not token:
        raise Unauthorized("sign in to use the console", code=Code.SESSION_REQUIRED)
    now = rt.now()
    found = await rt.store.read(lambda c: user_repo.session(c, _token_hash(token), now))
    if found is None:
        raise Unauthorized("your session has ended: sign in again", code=Code.SESSION_REQUIRED)
    account = await rt.store.read(lambda c: account_repo.get(c, found.user.account_id))
    if account is None:  # pragma: no cover - a user's account is never deleted
        raise Unauthorized("your session has ended: sign in again", code=Code.SESSION_REQUIRED)
    _whitelisted(account, address)
    return Visitor(found.user.user, account, found.csrf_token)


async def sign_out(rt: Runtime, token: str | None) -> None:
    """End the session of ``token`` (nothing happens for an unknown one)."""
    if token:
        now = rt.now()
        await rt.store.write(lambda c: user_repo.close_session(c, _token_hash(token), now))


def csrf_matches(visitor: Visitor, given: str | None) -> bool:
    """Whether a form's or htmx request's CSRF token is the session's (constant time)."""
    return bool(given) and secrets.compare_digest(
        (given or "").encode(), visitor.csrf_token.encode()
    )


# the demo ---------------------------------------------------------------------------------


def ensure_demo_user(rt: Runtime, account: Account) -> CreatedUser:
    """The demo account's admin and its kept password (``make run`` prints both).

    Synchronous, like :func:`accounts.ensure_demo`: it runs before the server's event loop.
    The password is kept in ``data_dir/demo.json`` beside the demo API key; one that no
    longer signs in (a new database, the user gone) is replaced."""
    key_file = demo_repo.key_file(rt.settings.data_dir)
    kept = demo_repo.read_user(key_file)
    now = rt.now()

    def ensure(conn: Connection) -> CreatedUser:
        email = demo_repo.DEMO_EMAIL
        record = user_repo.by_email(conn, email)
        if record is not None and record.account_id != account.id:
            raise Conflict(f"{email} is a user of another account", code=Code.USER_EMAIL_TAKEN)
        if record is not None and kept is not None and _verify(record.password_hash, kept):
            return CreatedUser(record.user, kept)
        password = new_password()
        hashed = _hasher.hash(password)
        if record is None:
            user = user_repo.create(conn, account.id, email, hashed, "admin", now).user
        else:
            user_repo.set_password(conn, record.id, hashed)
            user = record.user
        # written inside the transaction: if the commit fails, the next start makes another
        demo_repo.keep_user(key_file, password)
        return CreatedUser(user, password)

    return rt.store.write_sync(ensure)
