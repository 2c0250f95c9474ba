"""The one HTTP client of the process: every outgoing call (webhook widget, check button,
deliveries, internal methods, gateways) goes through ``HttpClient.send``.

It is the hot path, so it keeps pooled keep-alive connections per host on its own lean
HTTP/1.1 client (``wire.py``: asyncio protocols and httptools, about a third of the CPU of
an aiohttp session per call, which itself was ~8x faster than httpx, design notes §4), sends
bodies that are already bytes, and turns every network outcome into an ``HttpResult``
instead of raising, so callers decide success or failure from data. The guard
(``guard.py``) runs before every request and every redirect hop, and on every DNS answer.

The transport (``transport.py``, ``wire.py``, and the guarded resolver, which imports
aiohttp for its resolver interface) is imported on the first call: a process that never
calls out does not load it at all.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from flowhook.domain.message import HttpResult, OutgoingRequest
from flowhook.settings import Settings
from flowhook.webhooks.guard import EgressPolicy

if TYPE_CHECKING:
    from aiohttp.abc import AbstractResolver

    from flowhook.webhooks.transport import Transport


class HttpClient:
    """Owns the process's shared connections; create once, ``await close()`` at shutdown."""

    def __init__(self, settings: Settings, resolver: AbstractResolver | None = None) -> None:
        self.settings = settings
        self.policy = EgressPolicy.parse(settings.egress_allow, settings.egress_deny)
        self._inner_resolver = resolver  # injected for tests; aiohttp's default DNS otherwise
        self._transport: Transport | None = None

    async def send(
        self, req: OutgoingRequest, *, http_enabled: bool, follow_redirects: bool = False
    ) -> HttpResult:
        """Send ``req`` and report what happened; never raises for network problems."""
        transport = self._transport
        loop = asyncio.get_running_loop()
        if transport is None or not transport.usable(loop):
            transport = self._open()
        return await transport.send(req, http_enabled, follow_redirects)

    async def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.close()

    def _open(self) -> Transport:
        # First use, or the previous loop is gone (a CLI that runs several asyncio.run):
        # a connection cannot move between loops, so a new pool is made for this loop.
        from flowhook.webhooks.transport import Transport

        self._transport = Transport(self.settings, self.policy, self._inner_resolver)
        return self._transport
