"""The demo account and flows that ``make run`` starts with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from flowhook.domain.account import Account
from flowhook.store import accounts as account_repo
from flowhook.store import flows as flow_repo
from flowhook.store.secrets import Cipher, hash_key
from flowhook.store.tables import accounts

DEMO_NAME = "demo"

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


def ensure_demo(conn: Connection, cipher: Cipher, now: float) -> tuple[Account, str, bool]:
    """The demo account with a fresh API key (keys are stored hashed, so a new one is
    issued at every start); its demo flows are created once."""
    row = conn.execute(select(accounts.c.id).where(accounts.c.name == DEMO_NAME)).first()
    if row is None:
        account, api_key = account_repo.create(conn, DEMO_NAME, cipher, now, http_enabled=True)
        created = True
    else:
        api_key = account_repo.new_api_key()
        conn.execute(
            update(accounts).where(accounts.c.id == row[0]).values(api_key_hash=hash_key(api_key))
        )
        found = account_repo.get(conn, row[0])
        assert found is not None
        account = found
        created = False
    if not flow_repo.list_for(conn, account.id):
        for document in DEMO_FLOWS:
            record = flow_repo.create(conn, account.id, document, now)
            flow_repo.publish(conn, record.flow_id, account.id, now)
    return account, api_key, created
