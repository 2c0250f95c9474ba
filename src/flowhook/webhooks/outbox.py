"""Creating deliveries: the flow-complete webhook (a completion hook, so the delivery row
commits in the same transaction that ends the execution) and fire-and-forget calls of the
webhook widget. Both go through the one request builder and the same delivery engine."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection
from yarl import URL

from flowhook.domain.account import Account
from flowhook.engine.flow import CompiledFlow
from flowhook.engine.state import ExecutionState
from flowhook.engine.templating import MISSING, REFERENCE, lookup_in
from flowhook.ids import stable_id
from flowhook.store import deliveries as delivery_repo
from flowhook.store import webhooks as webhook_repo
from flowhook.store.db import Store
from flowhook.store.deliveries import Delivery
from flowhook.store.notify import notify
from flowhook.store.secrets import Cipher
from flowhook.store.webhooks import SavedWebhook
from flowhook.webhooks.delivery import DeliveryEngine
from flowhook.webhooks.payload import default_payload
from flowhook.webhooks.request import build_request
from flowhook.webhooks.targets import stored_form

_DEFAULT_TTL = 2.0


def endpoint_of(url: str) -> str:
    try:
        parsed = URL(url)
        return f"{parsed.host}:{parsed.port}"
    except (ValueError, TypeError):
        return "invalid"


def target_endpoint(url: str) -> str | None:
    """The endpoint of a webhook's URL template, when its host is written out (not a
    variable): where its deliveries go from their next attempt."""
    if REFERENCE.match(url):
        return None
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return None
    return None if "$" in netloc else endpoint_of(url)


def state_lookup(state: ExecutionState) -> Any:
    values = state.variables
    base = lookup_in(values)

    def lookup(name: str) -> Any:
        value = base(name)
        return value if value is not MISSING else MISSING

    return lookup


class FlowCompleteHook:
    """When an execution of a ``webhook_enabled`` flow ends and the account has a default
    webhook, add its delivery to the finishing transaction and send it right after."""

    def __init__(self, store: Store, cipher: Cipher, engine: DeliveryEngine) -> None:
        self.store = store
        self.cipher = cipher
        self.engine = engine
        self._defaults: dict[str, tuple[float, SavedWebhook | None]] = {}

    def forget(self, account_id: str) -> None:
        self._defaults.pop(account_id, None)

    async def default_webhook(self, account_id: str) -> SavedWebhook | None:
        now = time.monotonic()
        hit = self._defaults.get(account_id)
        if hit and now - hit[0] < _DEFAULT_TTL:
            return hit[1]
        saved = await self.store.read(lambda c: webhook_repo.default_for(c, account_id))
        self._defaults[account_id] = (now, saved)
        return saved

    async def __call__(
        self, state: ExecutionState, flow: CompiledFlow | None, account: Account
    ) -> tuple[Any, Any] | None:
        if flow is None or not flow.document.webhook_enabled:
            return None
        webhook = await self.default_webhook(account.id)
        if webhook is None:
            return None
        payload = default_payload(state, timezone=account.timezone)
        spec = webhook.real_spec(self.cipher)
        lookup = state_lookup(state)
        request, _missing = build_request(spec, lookup, default_payload=payload)
        stored, secret = stored_form(request, self.cipher, target=spec, lookup=lookup)
        delivery_id = stable_id(uuid.NAMESPACE_URL, f"flow-complete:{state.uuid}")
        endpoint = endpoint_of(request.url)
        owner = self.engine.owner
        now = time.time()
        lease_until = now + self.engine.settings.lease_seconds
        due_at = self.engine.due_at(endpoint, now)  # later while the endpoint is down
        local = self.engine.takes(endpoint)

        def write(conn: Connection) -> delivery_repo.Inserted | None:
            if not local:
                notify(conn)  # another worker may send it before we do
            return delivery_repo.insert(
                conn,
                delivery_id=delivery_id,
                account_id=account.id,
                execution_uuid=state.uuid,
                webhook_id=webhook.id,
                endpoint=endpoint,
                request=stored,
                secret_headers=secret,
                due_at=due_at,
                lease_owner=owner if local else None,
                lease_until=lease_until if local else None,
                now=now,
            )

        def after(inserted: delivery_repo.Inserted | None) -> None:
            if inserted and local and inserted.webhook_version != webhook.updated_at:
                # the webhook changed since this process read it: send it as it is now
                self.engine.hand_over(delivery_id)
            elif inserted and local:
                # the row as just committed: sent without reading it back
                committed = Delivery(
                    id=delivery_id,
                    account_id=account.id,
                    execution_uuid=state.uuid,
                    webhook_id=webhook.id,
                    endpoint=endpoint,
                    request=stored,
                    secret_headers=secret,
                    status=delivery_repo.PENDING,
                    attempts=0,
                    signing_key=inserted.signing_key,
                    target=webhook,
                )
                self.engine.hand_over(delivery_id, committed)
            elif inserted and due_at <= now:
                self.engine.nudge()

        return write, after
