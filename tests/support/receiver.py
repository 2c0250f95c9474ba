"""A real HTTP receiver on 127.0.0.1 that records every request and answers as told:
the stand-in for a customer's API or webhook endpoint in tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

from support.process import free_port


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, Any, dict[str, str]]  # status, body (JSON-able or bytes/str), headers


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    """Answers used in order; when exhausted, ``default`` is used."""
    default: Reply = (200, {"ok": True}, {})
    delay_s: float = 0.0
    hold: asyncio.Event | None = None
    """When set to an event, requests are recorded at once but answered only once it is set
    (an attempt kept in flight for as long as a test needs, without a timing guess)."""
    on_request: Callable[[Received], Reply | None] | None = None
    _event: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        async def enough() -> None:
            while len(self.received) < count:
                self._event.clear()
                await self._event.wait()

        await asyncio.wait_for(enough(), timeout)
        return self.received


@asynccontextmanager
async def receiver(path: str = "/hook", port: int = 0) -> AsyncIterator[Receiver]:
    """Listen on ``port`` (0: any free one); a fixed port lets a test bring a receiver
    "back up" where one was down."""
    app = web.Application()
    runner = web.AppRunner(app, access_log=None)
    rec: Receiver | None = None

    async def handle(request: web.Request) -> web.StreamResponse:
        assert rec is not None
        body = await request.read()
        item = Received(
            request.method, request.path, dict(request.query), dict(request.headers), body
        )
        rec.received.append(item)
        rec._event.set()
        if rec.delay_s:
            await asyncio.sleep(rec.delay_s)
        if rec.hold is not None:
            await rec.hold.wait()
        reply = rec.on_request(item) if rec.on_request else None
        if reply is None:
            reply = rec.replies.pop(0) if rec.replies else rec.default
        status, payload, headers = reply
        if isinstance(payload, bytes):
            return web.Response(status=status, body=payload, headers=headers)
        if isinstance(payload, str):
            return web.Response(status=status, text=payload, headers=headers)
        return web.json_response(payload, status=status, headers=headers)

    app.router.add_route("*", "/{tail:.*}", handle)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rec = Receiver(f"http://127.0.0.1:{port}{path}")
    try:
        yield rec
    finally:
        await runner.cleanup()


class HookServer:
    """A receiver whose handler a test writes itself (``hook``: every POST to /hook), on a
    port chosen before it starts, so that the flowhook processes' settings can name it."""

    def __init__(self) -> None:
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    async def hook(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
