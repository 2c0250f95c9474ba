"""Repository functions for the webhook registry (the "Advanced → Webhook" page).

A saved webhook is a ``RequestSpec`` stored as it is shown: without its password (kept
encrypted in its own column) and with ``***`` for every other secret (headers, query
parameters, URL user-info: ``webhooks/credentials.py``), whose values are kept encrypted in
``secrets``; a name unique in the account; and ``is_default``: at most one per account,
the target of flow-complete deliveries.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from flowhook.domain.credentials import REDACTED, seal_request, unseal_request
from flowhook.domain.request_spec import BasicAuth, RequestSpec
from flowhook.store.secrets import Cipher
from flowhook.store.tables import flows, webhook_limits, webhooks

Limits = tuple[float | None, int | None]
"""A webhook's (rate limit in deliveries per second, deliveries in flight): None, none."""
Ordering = tuple[str | None, str | None]
"""What a webhook's deliveries are ordered by (None: not ordered) and, when that is
``variable``, the variable's name (``webhooks/ordering.py``)."""


@dataclass(frozen=True)
class SavedWebhook:
    id: str
    account_id: str
    name: str
    spec: RequestSpec
    """As shown: secrets are ``***`` (see :meth:`real_spec`)."""
    password: bytes | None
    is_default: bool
    last_check: dict[str, Any] | None
    created_at: float
    updated_at: float
    secrets: bytes | None = None
    health: str = "HEALTHY"
    """HEALTHY, FAILING (since ``failing_since``) or DISABLED (``disabled_at``, for
    ``disabled_reason``): ``webhooks/health.py``."""
    failing_since: float | None = None
    disabled_at: float | None = None
    disabled_reason: str | None = None
    rate_limit: float | None = None
    """Deliveries per second across every worker (None: no limit; store/webhook_limits.py)."""
    max_in_flight: int | None = None
    """Deliveries in flight at once across every worker (None: no limit)."""
    ordered_by: str | None = None
    """``contact``, ``execution`` or ``variable`` (``order_variable``): deliveries with the
    same key are sent one at a time, in creation order (None: not ordered)."""
    order_variable: str | None = None
    _real: list[RequestSpec] = field(default_factory=list, compare=False, repr=False)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """What callers work out once per version of the webhook (an instance is one version:
    an edit is a new ``updated_at``, read into a new instance), e.g. its rendered target."""

    @property
    def disabled(self) -> bool:
        return self.health == "DISABLED"

    @property
    def limited(self) -> bool:
        """Its deliveries are claimed through its limiter, never sent at once on creation:
        it has a rate or concurrency limit, or it is ordered (one of a key at a time)."""
        return (
            self.rate_limit is not None
            or self.max_in_flight is not None
            or self.ordered_by is not None
        )

    def password_plain(self, cipher: Cipher) -> str | None:
        return cipher.decrypt(self.password) if self.password else None

    def secret_values(self, cipher: Cipher) -> dict[str, Any]:
        values: dict[str, Any] = json.loads(cipher.decrypt(self.secrets)) if self.secrets else {}
        return values

    def real_spec(self, cipher: Cipher) -> RequestSpec:
        """The spec to send: its secrets decrypted and put back (once per version)."""
        if not self._real:
            spec = self.spec
            if self.secrets or self.password:
                data = unseal_request(self.spec.model_dump(mode="json"), self.secret_values(cipher))
                if isinstance(self.spec.auth, BasicAuth):
                    data["auth"] = {**data["auth"], "password": self.password_plain(cipher)}
                spec = RequestSpec.model_validate(data)
            self._real.append(spec)
        return self._real[0]

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
            "rate_limit": self.rate_limit,
            "max_in_flight": self.max_in_flight,
            "ordered_by": self.ordered_by,
            "order_variable": self.order_variable,
            "last_check": self.last_check,
            "health": {
                "state": self.health,
                "failing_since": self.failing_since,
                "disabled_at": self.disabled_at,
                "disabled_reason": self.disabled_reason,
            },
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
        secrets=row.secrets,
        health=row.health,
        failing_since=row.failing_since,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
        rate_limit=row.rate_limit,
        max_in_flight=row.max_in_flight,
        ordered_by=row.ordered_by,
        order_variable=row.order_variable,
    )


_SENDING: dict[tuple[str, float], SavedWebhook] = {}


def for_sending(
    webhook_id: str,
    account_id: str,
    spec: Any,
    password: bytes | None,
    secrets: bytes | None,
    updated_at: float,
    health: str = "HEALTHY",
    rate_limit: float | None = None,
    max_in_flight: int | None = None,
) -> SavedWebhook:
    """A webhook read with a delivery claim, parsed once per version (id, updated_at): the
    delivery engine asks for it on every attempt. Disabling and enabling a webhook change
    its version, so whether it is DISABLED is current (FAILING or HEALTHY may not be)."""
    key = (webhook_id, updated_at)
    saved = _SENDING.get(key)
    if saved is None:
        if len(_SENDING) > 10_000:
            _SENDING.clear()
        saved = SavedWebhook(
            id=webhook_id,
            account_id=account_id,
            name="",
            spec=RequestSpec.model_validate(spec),
            password=password,
            is_default=False,
            last_check=None,
            created_at=updated_at,
            updated_at=updated_at,
            secrets=secrets,
            health=health,
            rate_limit=rate_limit,
            max_in_flight=max_in_flight,
        )
        _SENDING[key] = saved
    return saved


def _sealed(
    spec: RequestSpec, cipher: Cipher, stored: dict[str, Any] | None = None
) -> tuple[dict[str, Any], bytes | None]:
    """The spec as stored (no password, other secrets ``***``) and its encrypted secrets;
    a ``***`` sent back keeps the value in ``stored`` (``UnknownSecret`` without one)."""
    data = spec.model_dump(mode="json")
    if isinstance(spec.auth, BasicAuth):
        data["auth"] = {"type": "basic", "username": spec.auth.username}
    public, values = seal_request(data, stored)
    return public, cipher.encrypt(json.dumps(values)) if values else None


def create(
    conn: Connection,
    account_id: str,
    name: str,
    spec: RequestSpec,
    is_default: bool,
    cipher: Cipher,
    now: float,
    limits: Limits = (None, None),
    ordering: Ordering = (None, None),
) -> SavedWebhook:
    webhook_id = str(uuid.uuid4())
    password = spec.auth.password if isinstance(spec.auth, BasicAuth) else None
    public, secrets = _sealed(spec, cipher)
    if is_default:
        _clear_default(conn, account_id)
    conn.execute(
        webhooks.insert().values(
            id=webhook_id,
            account_id=account_id,
            name=name,
            spec=public,
            secrets=secrets,
            password=cipher.encrypt(password) if password is not None else None,
            is_default=is_default,
            created_at=now,
            updated_at=now,
            rate_limit=limits[0],
            max_in_flight=limits[1],
            ordered_by=ordering[0],
            order_variable=ordering[1],
        )
    )
    set_limiter(conn, webhook_id, limits, now, ordered=ordering[0] is not None)
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
    limits: Limits = (None, None),
    ordering: Ordering = (None, None),
) -> SavedWebhook | None:
    """Replace a webhook; a basic-auth password left out keeps the stored one, and so does
    a secret sent back as ``***``."""
    current = get(conn, account_id, webhook_id)
    if current is None:
        return None
    public, secrets = _sealed(spec, cipher, current.secret_values(cipher))
    values: dict[str, Any] = {
        "name": name,
        "spec": public,
        "secrets": secrets,
        "is_default": is_default,
        "updated_at": now,
        "last_check": None,
        "rate_limit": limits[0],
        "max_in_flight": limits[1],
        "ordered_by": ordering[0],
        "order_variable": ordering[1],
    }
    if isinstance(spec.auth, BasicAuth):
        if spec.auth.password is not None and spec.auth.password != REDACTED:
            values["password"] = cipher.encrypt(spec.auth.password)
    else:
        values["password"] = None
    if is_default:
        _clear_default(conn, account_id)
    conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(**values))
    ordered = ordering[0] is not None
    if limits != (current.rate_limit, current.max_in_flight) or ordered != (
        current.ordered_by is not None
    ):
        set_limiter(conn, webhook_id, limits, now, ordered=ordered)
    return get(conn, account_id, webhook_id)


def set_limiter(
    conn: Connection, webhook_id: str, limits: Limits, now: float, *, ordered: bool = False
) -> None:
    """Give the webhook the limiter row its limits or its ordering need (none without
    either): the row every worker's claim locks. A new or changed rate starts with one
    token."""
    conn.execute(delete(webhook_limits).where(webhook_limits.c.webhook_id == webhook_id))
    rate, max_in_flight = limits
    if rate is not None or max_in_flight is not None or ordered:
        conn.execute(
            webhook_limits.insert().values(
                webhook_id=webhook_id,
                rate=rate,
                max_in_flight=max_in_flight,
                tokens=1.0,
                refilled_at=now,
                ordered=ordered,
            )
        )


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
    set_limiter(conn, webhook_id, (None, None), 0.0)
    conn.execute(
        delete(webhooks).where(webhooks.c.account_id == account_id, webhooks.c.id == webhook_id)
    )
