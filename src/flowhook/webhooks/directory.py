"""Saved webhooks as running flows see them: looked up by id or name, cached briefly
(``flowhook/cache.py``) so a webhook widget on the hot path does not read the registry on
every call. The use cases that change a webhook forget the account's entries.

This is how a widget reaches saved webhooks: the runtime lends it through the engine's
context (``ctx.services.get(WebhookDirectory)``) with the store and the cipher it needs, so
widgets never import the store themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowhook.cache import MISS, Cache
from flowhook.store import webhooks as webhook_repo
from flowhook.store.db import Store
from flowhook.store.secrets import Cipher
from flowhook.store.webhooks import SavedWebhook
from flowhook.webhooks.targets import SendingTarget, sending_target

_TTL = 2.0


@dataclass(frozen=True, slots=True)
class SavedTarget:
    """A saved webhook as a widget sends to it: the version read, and what sending to that
    version needs (its secrets decrypted, worked out once per version: ``targets.py``)."""

    webhook: SavedWebhook
    sending: SendingTarget


class WebhookDirectory:
    def __init__(self, store: Store, cipher: Cipher, ttl: float = _TTL) -> None:
        self.store = store
        self.cipher = cipher
        self.ttl = ttl
        # by (account, id or name); None: no such webhook (a widget may name one added later)
        self._cache: Cache[tuple[str, str], SavedWebhook | None] = Cache(ttl=ttl)

    async def find(self, account_id: str, ref: str) -> SavedWebhook | None:
        key = (account_id, ref)
        hit = self._cache.get(key)
        if hit is not MISS:
            return hit
        saved = await self.store.read(lambda c: webhook_repo.get(c, account_id, ref))
        return self._cache.put(key, saved)

    async def target(self, account_id: str, ref: str) -> SavedTarget | None:
        """The saved webhook named ``ref`` (id or name) ready to send to, or None."""
        saved = await self.find(account_id, ref)
        if saved is None:
            return None
        return SavedTarget(saved, sending_target(saved, self.cipher))

    def forget(self, account_id: str) -> None:
        self._cache.forget_where(lambda key, _saved: key[0] == account_id)
