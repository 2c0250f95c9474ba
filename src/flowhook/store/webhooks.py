"""Repository functions for the webhook registry (the "Advanced → Webhook" page).

A saved webhook is a ``RequestSpec`` without its password (kept encrypted in its own
column), a name unique in the account, and ``is_default``: at most one per account, the
target of flow-complete deliveries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from flowhook.store.secrets import Cipher
from flowhook.store.tables import flows, webhooks
from flowhook.webhooks.config import BasicAuth, RequestSpec


@dataclass(frozen=True)
class SavedWebhook:
    id: str
    account_id: str
    name: str
    spec: RequestSpec
    password: bytes | None
    is_default: bool
    last_check: dict[str, Any] | None
    created_at: float
    updated_at: float

    def password_plain(self, cipher: Cipher) -> str | None:
        return cipher.decrypt(self.password) if self.password else None

    def to_api(self) -> dict[str, Any]:
        spec = self.spec.model_dump(mode="json")
        if isinstance(self.spec.auth, BasicAuth):
            spec["auth"] = {
                "type": "basic",
                "username": self.spec.auth.username,
                "password_set": self.password is not None,
            }
        return {
            "id": self.id,
            "name": self.name,
            **spec,
            "is_default": self.is_default,
            "last_check": self.last_check,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def _saved(row: Any) -> SavedWebhook:
    return SavedWebhook(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        spec=RequestSpec.model_validate(row.spec),
        password=row.password,
        is_default=bool(row.is_default),
        last_check=row.last_check,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _stored_spec(spec: RequestSpec) -> dict[str, Any]:
    data = spec.model_dump(mode="json")
    if isinstance(spec.auth, BasicAuth):
        data["auth"] = {"type": "basic", "username": spec.auth.username}
    return data


def create(
    conn: Connection,
    account_id: str,
    name: str,
    spec: RequestSpec,
    is_default: bool,
    cipher: Cipher,
    now: float,
) -> SavedWebhook:
    webhook_id = str(uuid.uuid4())
    password = spec.auth.password if isinstance(spec.auth, BasicAuth) else None
    if is_default:
        _clear_default(conn, account_id)
    conn.execute(
        webhooks.insert().values(
            id=webhook_id,
            account_id=account_id,
            name=name,
            spec=_stored_spec(spec),
            password=cipher.encrypt(password) if password is not None else None,
            is_default=is_default,
            created_at=now,
            updated_at=now,
        )
    )
    saved = get(conn, account_id, webhook_id)
    assert saved is not None
    return saved


def replace(
    conn: Connection,
    account_id: str,
    webhook_id: str,
    name: str,
    spec: RequestSpec,
    is_default: bool,
    cipher: Cipher,
    now: float,
) -> SavedWebhook | None:
    """Replace a webhook; a basic-auth password left out keeps the stored one."""
    current = get(conn, account_id, webhook_id)
    if current is None:
        return None
    values: dict[str, Any] = {
        "name": name,
        "spec": _stored_spec(spec),
        "is_default": is_default,
        "updated_at": now,
        "last_check": None,
    }
    if isinstance(spec.auth, BasicAuth):
        if spec.auth.password is not None:
            values["password"] = cipher.encrypt(spec.auth.password)
    else:
        values["password"] = None
    if is_default:
        _clear_default(conn, account_id)
    conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(**values))
    return get(conn, account_id, webhook_id)


def _clear_default(conn: Connection, account_id: str) -> None:
    conn.execute(
        update(webhooks)
        .where(webhooks.c.account_id == account_id, webhooks.c.is_default.is_(True))
        .values(is_default=False)
    )


def get(conn: Connection, account_id: str, ref: str) -> SavedWebhook | None:
    """By id, or by name (the widget may name its target either way)."""
    row = conn.execute(
        select(webhooks).where(webhooks.c.account_id == account_id, webhooks.c.id == ref)
    ).first()
    if row is None:
        row = conn.execute(
            select(webhooks).where(webhooks.c.account_id == account_id, webhooks.c.name == ref)
        ).first()
    return _saved(row) if row else None


def missing(conn: Connection, account_id: str, refs: set[str]) -> set[str]:
    """The refs (ids or names, as a webhook widget names its target) that name no saved
    webhook of the account."""
    if not refs:
        return set()
    # a text with NUL names nothing, and PostgreSQL refuses it in a query
    queried = {ref for ref in refs if "\x00" not in ref}
    found: set[str] = set()
    if queried:
        for row in conn.execute(
            select(webhooks.c.id, webhooks.c.name).where(
                webhooks.c.account_id == account_id,
                or_(webhooks.c.id.in_(queried), webhooks.c.name.in_(queried)),
            )
        ):
            found.update((row.id, row.name))
    return refs - found


def default_for(conn: Connection, account_id: str) -> SavedWebhook | None:
    row = conn.execute(
        select(webhooks).where(webhooks.c.account_id == account_id, webhooks.c.is_default.is_(True))
    ).first()
    return _saved(row) if row else None


def list_for(conn: Connection, account_id: str) -> list[SavedWebhook]:
    rows = conn.execute(
        select(webhooks).where(webhooks.c.account_id == account_id).order_by(webhooks.c.created_at)
    )
    return [_saved(r) for r in rows]


def record_check(conn: Connection, webhook_id: str, result: dict[str, Any]) -> None:
    conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(last_check=result))


def flows_using(conn: Connection, account_id: str, webhook: SavedWebhook) -> list[str]:
    """Names of the flows (test or prod version) whose webhook widgets target this one."""
    names = []
    for row in conn.execute(
        select(flows.c.name, flows.c.test_doc, flows.c.prod_doc).where(
            flows.c.account_id == account_id
        )
    ):
        for doc in (row.test_doc, row.prod_doc):
            if doc and _targets(doc, {webhook.id, webhook.name}):
                names.append(row.name)
                break
    return names


def _targets(document: dict[str, Any], refs: set[str]) -> bool:
    for widget in (document.get("widgets") or {}).values():
        if (
            isinstance(widget, dict)
            and widget.get("type") == "webhook"
            and widget.get("webhook") in refs
        ):
            return True
    return False


def remove(conn: Connection, account_id: str, webhook_id: str) -> None:
    conn.execute(
        delete(webhooks).where(webhooks.c.account_id == account_id, webhooks.c.id == webhook_id)
    )
