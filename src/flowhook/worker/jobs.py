"""The job loop: runs the batches of due jobs (``store/jobs.py``), such as the recovery of
a webhook's failed deliveries (``store/recovery.py``), one batch per transaction.

Nothing of a job lives only in this process: its row says where it stands, so a job
whose worker was killed is carried on by the next worker that polls, from the batch after
the last one committed. A batch's re-queued deliveries are handed to the delivery engine
through its wake-up (and ``pg_notify`` for other processes).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from flowhook.logging import get_logger
from flowhook.settings import Settings
from flowhook.store import recovery
from flowhook.store.db import Store
from flowhook.store.jobs import Job
from flowhook.worker.background import BackgroundLoop

log = get_logger(__name__)


class JobRunner(BackgroundLoop):
    """One per worker process; ``nudge`` when a job was created here."""

    name = "run jobs"

    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Callable[[], float],
        on_requeued: Callable[[], None],
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.on_requeued = on_requeued
        self._wakeup = asyncio.Event()
        super().__init__()

    def nudge(self) -> None:
        self._wakeup.set()

    async def step(self) -> Job | None:
        """Run one batch of the job due first; None when no job is due."""
        now = self.clock()
        job = await self.store.write(lambda c: recovery.step(c, now, self.settings.recover_batch))
        if job is not None:
            self.on_requeued()
        return job

    async def _forever(self) -> None:
        # A job's batches take their turn with the rest of the work: one batch, then
        # back to the event loop, and a pause whenever no job is due.
        while True:
            try:
                job = await self.step()
            except Exception:
                log.exception("running a job's batch failed")
                job = None
            if job is not None:  # another may be due: look again, after the others' turn
                await asyncio.sleep(0)
                continue
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._idle_s())

    def _idle_s(self) -> float:
        return max(self.settings.poll_interval_s, recovery.BACKLOG_PAUSE_S / 2)
