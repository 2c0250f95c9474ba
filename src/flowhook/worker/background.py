"""A loop a process runs beside its work (retention, operational e-mails): started with
the process, cancelled with it. Each loop says what one turn is in ``_forever``."""

from __future__ import annotations

import asyncio
import contextlib


class BackgroundLoop:
    """``start`` runs ``_forever`` as a named task; ``stop`` cancels it and waits for it."""

    name = "background loop"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def _forever(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._task = asyncio.create_task(self._forever(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
