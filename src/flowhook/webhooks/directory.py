"""Saved webhooks as running flows see them: looked up by id or name, cached briefly
(``flowhook/cache.py``) so a webhook widget on the hot path does not read the registry on
every call. The use cases that change a webhook forget the account's entries."""

from __future__ import annotations

from flowhook.cache import MISS, Cache
from flowhook.store import webhooks as webhook_repo
from flowhook.store.db import Store
from flowhook.store.webhooks import SavedWebhook

_TTL = 2.0


class WebhookDirectory:
    def __init__(self, store: Store, ttl: float = _TTL) -> None:
        self.store = store
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

    def forget(self, account_id: str) -> None:
        self._cache.forget_where(lambda key, _saved: key[0] == account_id)
