"""What the execution runner and the delivery engine share: due work claimed from a table
under a lease, run as tasks, leases renewed while the work runs, a wake-up for work that
became due, and a clean stop that lets the running tasks finish."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from flowhook.logging import get_logger
from flowhook.settings import Settings
from flowhook.store.db import Store

log = get_logger(__name__)


class LeasedWorker:
    """Subclasses implement ``claim_once`` and ``renewal`` and say what they work on."""

    work = "work"

    def __init__(self, store: Store, settings: Settings, clock: Callable[[], float]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.in_flight: dict[str, asyncio.Task[None]] = {}
        self._wakeup = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False
        # for ``make bench``: how often the claim loop ran, the rows it took, and the work
        # this process started without a claim (accepted or committed here)
        self.claims = 0
        self.claimed = 0
        self.started_here = 0

    def stats(self) -> dict[str, int]:
        return {"claims": self.claims, "claimed": self.claimed, "started_here": self.started_here}

    def has_room(self) -> bool:
        return len(self.in_flight) < self.settings.worker_concurrency

    def nudge(self, delay: float = 0.0) -> None:
        """Make the claim loop look for due work now (or after ``delay`` seconds)."""
        if delay <= 0:
            self._wakeup.set()
        else:
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().call_later(delay, self._wakeup.set)

    async def claim_once(self) -> int:
        """Claim what is due (as much as there is room for) and start it; return how many."""
        raise NotImplementedError

    def renewal(self, ids: list[str], until: float) -> Callable[[Connection], Any]:
        """The write that extends this process's leases on ``ids``."""
        raise NotImplementedError

    async def start(self) -> None:
        self._stopping = False
        self._loops = [
            asyncio.create_task(self._claim_forever(), name=f"claim {self.work}"),
            asyncio.create_task(self._heartbeat_forever(), name=f"renew {self.work} leases"),
        ]

    async def stop(self, *, drain_timeout: float = 5.0) -> None:
        self._stopping = True
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.in_flight:
            await asyncio.wait(list(self.in_flight.values()), timeout=drain_timeout)
        for task in list(self.in_flight.values()):
            task.cancel()

    async def _claim_forever(self) -> None:
        while not self._stopping:
            try:
                got = await self.claim_once()
            except Exception:
                log.exception(f"claiming {self.work} failed")
                got = 0
            self.claims += 1
            self.claimed += got
            if got and self.has_room():
                continue
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.settings.poll_interval_s)

    async def _heartbeat_forever(self) -> None:
        period = max(self.settings.lease_seconds / 3, 0.05)
        while not self._stopping:
            await asyncio.sleep(period)
            ids = list(self.in_flight)
            if not ids:
                continue
            until = self.clock() + self.settings.lease_seconds
            try:
                await self.store.write(self.renewal(ids, until))
            except Exception:
                log.exception(f"renewing {self.work} leases failed")
