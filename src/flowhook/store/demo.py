"""The demo account and flows that ``make run`` starts with.

The demo account and its API key are created once and kept: a newcomer copies the key from
the first start into scripts and notes, so every later start must print the same, working
key. Keys are stored hashed, so the key itself is kept in ``data_dir/demo.json`` (mode
0600), beside ``data_dir/secret.key``: encrypting it with the runtime cipher would add
nothing on a machine where that key file sits next to it, the schema needs no column for one
account's convenience, and the key can be read back without starting the server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from flowhook.domain.account import Account
from flowhook.store import accounts as account_repo
from flowhook.store import flows as flow_repo
from flowhook.store.secrets import Cipher, hash_key
from flowhook.store.tables import accounts

DEMO_NAME = "demo"
DEMO_EMAIL = "demo@example.com"
"""The demo account's console user (an admin); its password is kept beside the key."""


def key_file(data_dir: Path) -> Path:
    """Where the demo API key is kept."""
    return Path(data_dir) / "demo.json"


DEMO_FLOWS: list[dict[str, Any]] = [
    {
        "name": "hello_decision",
        "type": "outbound",
        "description": "Greets the caller and branches on a score.",
        "webhook_enabled": True,
        "entry": {"start": "greet"},
        "widgets": {
            "greet": {
                "type": "store_variable",
                "assignments": [
                    {"variable": "$flow.key.greeting", "value": "Hello $flow.key.name"},
                    {"variable": "$flow.key.score", "value": "$flow.key.score"},
                ],
                "next": "check",
            },
            "check": {
                "type": "decision",
                "branches": [
                    {
                        "exit": "vip",
                        "conditions": [{"left": "$flow.key.score", "op": ">=", "right": "50"}],
                    }
                ],
                "exits": {"vip": "mark_vip", "default": "done"},
            },
            "mark_vip": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.segment", "value": "vip"}],
                "next": "done",
            },
            "done": {"type": "end"},
        },
    },
    {
        "name": "retry_with_delay",
        "type": "outbound",
        "description": "Tries up to three times, one second apart, then gives up.",
        "webhook_enabled": False,
        "entry": {"start": "attempt"},
        "widgets": {
            "attempt": {
                "type": "counter",
                "limit": 3,
                "variable": "attempts",
                "exits": {"under": "wait", "over": "gave_up"},
            },
            "wait": {"type": "delay", "seconds": 1, "next": "attempt"},
            "gave_up": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.outcome", "value": "gave up"}],
            },
        },
    },
]


def ensure_demo(
    conn: Connection, cipher: Cipher, now: float, key_file: Path
) -> tuple[Account, str, bool]:
    """The demo account (created once, with its flows) and its kept API key.

    A kept key that this database does not accept (a new database, the account gone, the
    key replaced) is replaced by a new one, so the key returned always works. The file is
    written inside the transaction: if the commit fails, the next start sees a key the
    database does not know and issues another."""
    kept = _read_kept(key_file)
    account: Account | None = None
    if kept is not None:
        found = account_repo.by_api_key(conn, kept["api_key"])
        if found is not None and found.id == kept["account_id"] and found.name == DEMO_NAME:
            account, api_key = found, kept["api_key"]
    created = False
    if account is None:
        row = conn.execute(
            select(accounts.c.id)
            .where(accounts.c.name == DEMO_NAME)
            .order_by(accounts.c.created_at)
        ).first()
        if row is None:
            account, api_key = account_repo.create(conn, DEMO_NAME, cipher, now, http_enabled=True)
            created = True
        else:
            api_key = account_repo.new_api_key()
            conn.execute(
                update(accounts)
                .where(accounts.c.id == row[0])
                .values(api_key_hash=hash_key(api_key))
            )
            account = account_repo.get(conn, row[0])
            assert account is not None
        _keep(key_file, {**_read_all(key_file), "account_id": account.id, "api_key": api_key})
    if not flow_repo.list_for(conn, account.id):
        for document in DEMO_FLOWS:
            record = flow_repo.create(conn, account.id, document, now)
            flow_repo.publish(conn, record.flow_id, account.id, now)
    return account, api_key, created


def read_user(key_file: Path) -> str | None:
    """The demo user's kept password, or None."""
    password = _read_all(key_file).get("user_password")
    return password if isinstance(password, str) else None


def keep_user(key_file: Path, password: str) -> None:
    """Keep the demo user's password beside the demo key (the file stays 0600)."""
    _keep(key_file, {**_read_all(key_file), "user_password": password})


def _read_all(key_file: Path) -> dict[str, str]:
    try:
        kept = json.loads(key_file.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(kept, dict):
        return {}
    return {k: v for k, v in kept.items() if isinstance(k, str) and isinstance(v, str)}


def _read_kept(key_file: Path) -> dict[str, str] | None:
    """The kept ``{account_id, api_key}``, or None when there is none or it is unreadable
    (a new key is issued then)."""
    try:
        kept = json.loads(key_file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict):
        return None
    if not all(isinstance(kept.get(name), str) for name in ("account_id", "api_key")):
        return None
    return {"account_id": kept["account_id"], "api_key": kept["api_key"]}


def _keep(key_file: Path, kept: dict[str, str]) -> None:
    """Write the file whole (a temporary file renamed over it), readable by its owner only."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = key_file.with_name(f".{key_file.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(kept, fh)
        fh.write("\n")
    os.replace(temporary, key_file)
