"""Creating deliveries: the flow-complete webhook (a completion hook, so the delivery row
commits in the same transaction that ends the execution, with its clock) and
fire-and-forget calls of the webhook widget. Both build their request with the one request
builder and create the delivery with ``DeliveryEngine.enqueue``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flowhook.cache import MISS, Cache
from flowhook.domain.account import Account
from flowhook.engine.flow import CompiledFlow
from flowhook.engine.state import ExecutionState
from flowhook.engine.templating import REFERENCE, lookup_in
from flowhook.store import webhooks as webhook_repo
from flowhook.store.db import Store
from flowhook.store.secrets import Cipher
from flowhook.store.webhooks import SavedWebhook
from flowhook.webhooks.delivery import DeliveryEngine, endpoint_of
from flowhook.webhooks.outgoing import NewDelivery
from flowhook.webhooks.payload import default_payload
from flowhook.webhooks.request import build_request
from flowhook.webhooks.targets import sending_target

_DEFAULT_TTL = 2.0


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


class FlowCompleteHook:
    """When an execution of a ``webhook_enabled`` flow ends and the account has a default
    webhook, add its delivery to the finishing transaction and send it right after."""

    def __init__(
        self, store: Store, cipher: Cipher, engine: DeliveryEngine, ttl: float = _DEFAULT_TTL
    ) -> None:
        self.store = store
        self.cipher = cipher
        self.engine = engine
        # each account's default webhook, None when it has none
        self._defaults: Cache[str, SavedWebhook | None] = Cache(ttl=ttl)

    def forget(self, account_id: str) -> None:
        self._defaults.forget(account_id)

    async def default_webhook(self, account_id: str) -> SavedWebhook | None:
        hit = self._defaults.get(account_id)
        if hit is not MISS:
            return hit
        saved = await self.store.read(lambda c: webhook_repo.default_for(c, account_id))
        return self._defaults.put(account_id, saved)

    async def __call__(
        self, state: ExecutionState, flow: CompiledFlow | None, account: Account, now: float
    ) -> tuple[Any, Any] | None:
        if flow is None or not flow.document.webhook_enabled:
            return None
        webhook = self._defaults.get(account.id)  # known: no coroutine for it
        if webhook is MISS:
            webhook = await self.default_webhook(account.id)
        if webhook is None:
            return None
        payload = default_payload(state, timezone=account.timezone)
        sending = sending_target(webhook, self.cipher)
        spec = sending.spec
        lookup = lookup_in(state.variables)
        request, _missing = build_request(
            spec, lookup, default_payload=payload, target=sending.fixed
        )
        enqueued = self.engine.enqueue(
            NewDelivery(
                f"flow-complete:{state.uuid}",
                request,
                account_id=account.id,
                execution_uuid=state.uuid,
                webhook=webhook,
                now=now,
                target=spec,
                lookup=lookup,
                contact=state.contact,
            )
        )
        # sent from the finishing execution's task once committed (no task of its own)
        # the insert is queued with the finish's other writes and read after the commit
        return enqueued.write_later, enqueued.send_later_after_commit


class FireAndForget:
    """The webhook widget's ``wait_for_response: false`` calls: a delivery written on its
    own transaction (not the step's), lent to widgets through the engine's context so that
    they never write to the store themselves."""

    def __init__(self, store: Store, engine: DeliveryEngine) -> None:
        self.store = store
        self.engine = engine

    async def add(self, new: NewDelivery) -> str:
        """Write the delivery ``new`` (once: a replayed step adds nothing, since its id
        derives from its name), send it after the commit, and return its id."""
        enqueued = self.engine.enqueue(new)
        inserted = await self.store.write(enqueued.write)
        enqueued.after_commit(inserted)
        return enqueued.id


__all__ = ["FireAndForget", "FlowCompleteHook", "target_endpoint"]
