"""Retention: a background job of every worker process that removes, account by account,
finished executions (with their step logs) and finished deliveries (with their attempts)
older than the account's retention (``FLOWHOOK_RETENTION_DAYS``, 30, unless the account
chose its own).

It works in small batches (``FLOWHOOK_RETENTION_BATCH`` rows of each kind per write), each
its own short transaction through the group committer, yielding between them: writers on
the hot path are never held for long. Several workers may run it at once: removing what
another has removed already removes nothing. Nothing still to do is removed (see
``store/retention.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from flowhook.logging import get_logger
from flowhook.settings import Settings
from flowhook.store import retention as retention_repo
from flowhook.store.db import Store, bind
from flowhook.store.retention import Removed
from flowhook.worker.background import BackgroundLoop

log = get_logger(__name__)

DAY_S = 86400.0


class RetentionJob(BackgroundLoop):
    name = "retention"

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], float]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        super().__init__()

    async def run_once(self) -> Removed:
        """One pass over every account; what it removed."""
        now = self.clock()
        limit = self.settings.retention_batch
        totals = Removed(0, 0, 0)
        for account_id, days in (await self.store.read(retention_repo.retention_days)).items():
            before = now - (days or self.settings.retention_days) * DAY_S
            while True:
                removed = await self.store.write(
                    bind(retention_repo.remove_before, account_id, before, limit)
                )
                totals = Removed(*(x + y for x, y in zip(totals, removed, strict=True)))
                if max(removed.executions, removed.deliveries) < limit:
                    break
                await asyncio.sleep(0)  # let the other writers in between batches
        if totals.total():
            log.info("retention removed old rows", **totals._asdict())
        return totals

    async def _forever(self) -> None:
        while True:
            # a pass every interval, the first one interval after start: a process that
            # starts adds no work to its start-up
            await asyncio.sleep(self.settings.retention_interval_s)
            try:
                await self.run_once()
            except Exception:
                log.exception("retention pass failed")
