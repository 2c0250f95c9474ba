"""Repository functions for accounts."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import Connection, select, update

from flowhook.domain.account import Account
from flowhook.domain.signing import Keyring, new_key_pair, new_secret
from flowhook.store.db import is_storable_id
from flowhook.store.secrets import Cipher, hash_key
from flowhook.store.tables import accounts


def new_api_key() -> str:
    return "fh_" + secrets.token_urlsafe(32)


def create(
    conn: Connection, name: str, cipher: Cipher, now: float, **settings: Any
) -> tuple[Account, str]:
    """Create an account; return it with its API key (shown once, stored hashed)."""
    api_key = new_api_key()
    account_id = str(uuid.uuid4())
    conn.execute(
        accounts.insert().values(
            id=account_id,
            name=name,
            api_key_hash=hash_key(api_key),
            http_enabled=settings.get("http_enabled", False),
            ip_whitelist=settings.get("ip_whitelist", []),
            default_region=settings.get("default_region", "IN"),
            timezone=settings.get("timezone", "UTC"),
            signing_secret=cipher.encrypt(new_secret()),
            short_token=secrets.token_hex(8),
            created_at=now,
        )
    )
    account = get(conn, account_id)
    assert account is not None
    return account, api_key


def get(conn: Connection, account_id: str) -> Account | None:
    if not is_storable_id(account_id, 36):
        return None
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    return Account.from_row(row) if row else None


def by_api_key(conn: Connection, api_key: str) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.api_key_hash == hash_key(api_key))).first()
    return Account.from_row(row) if row else None


def by_short_token(conn: Connection, token: str) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.short_token == token)).first()
    return Account.from_row(row) if row else None


def by_short_domain(conn: Connection, domain: str) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.short_domain == domain)).first()
    return Account.from_row(row) if row else None


def with_channel_settings(conn: Connection) -> list[Account]:
    """Accounts that have chosen channel adapters (the others use the simulator)."""
    rows = conn.execute(select(accounts).where(accounts.c.channels.is_not(None))).all()
    return [account for account in map(Account.from_row, rows) if account.channels]


def update_settings(conn: Connection, account_id: str, **values: Any) -> Account | None:
    if values and is_storable_id(account_id, 36):
        conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
    return get(conn, account_id)


def signing_keyring(
    conn: Connection, account_id: str, cipher: Cipher, *, for_update: bool = False
) -> Keyring:
    """The account's signing secrets (the ``signing_secret`` column holds the keyring)."""
    query = select(accounts.c.signing_secret).where(accounts.c.id == account_id)
    token = conn.execute(query.with_for_update() if for_update else query).scalar_one()
    return Keyring.decode(cipher.decrypt(token))


def signing_secret(conn: Connection, account_id: str, cipher: Cipher) -> str:
    """The current signing secret."""
    return signing_keyring(conn, account_id, cipher).current


def rotate_signing_secret(
    conn: Connection, account_id: str, cipher: Cipher, *, now: float, overlap_s: float
) -> Keyring:
    """A new current secret; the replaced one stays valid for ``overlap_s``. The row is
    locked first: of two rotations at once, the second replaces the first's secret."""
    keyring = signing_keyring(conn, account_id, cipher, for_update=True)
    rotated = keyring.rotated(new_secret(), now, overlap_s)
    conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(signing_secret=cipher.encrypt(rotated.encode()))
    )
    return rotated


def set_asymmetric(conn: Connection, account_id: str, cipher: Cipher, enabled: bool) -> Keyring:
    """Sign with an ed25519 key too (a new pair, unless the account has one) or no more."""
    keyring = signing_keyring(conn, account_id, cipher, for_update=True)
    if enabled == (keyring.private_key is not None):
        return keyring
    changed = keyring.with_private_key(new_key_pair()[0] if enabled else None)
    conn.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values(signing_secret=cipher.encrypt(changed.encode()))
    )
    return changed
