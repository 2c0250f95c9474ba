"""Saved webhooks as running flows see them: looked up by id or name, cached briefly so a
webhook widget on the hot path does not read the registry on every call."""

from __future__ import annotations

import time

from flowhook.store import webhooks as webhook_repo
from flowhook.store.db import Store
from flowhook.store.webhooks import SavedWebhook

_TTL = 2.0


class WebhookDirectory:
    def __init__(self, store: Store, ttl: float = _TTL) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: dict[tuple[str, str], tuple[float, SavedWebhook | None]] = {}

    async def find(self, account_id: str, ref: str) -> SavedWebhook | None:
        key = (account_id, ref)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        saved = await self.store.read(lambda c: webhook_repo.get(c, account_id, ref))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now, saved)
        return saved

    def forget(self, account_id: str) -> None:
        for key in [k for k in self._cache if k[0] == account_id]:
            self._cache.pop(key, None)
