"""The outside world of the reference scenario: the external API that the webhook widget
calls and the receiver of the flow-complete webhook, as one small aiohttp app.

It runs in the load generator's process, never in the process under test, so its CPU is
not charged to flowhook (or to the ceiling). The receiver tells the load generator about
each payload through ``Receipts``, an in-process table: no extra hop, and the receipt time
is taken the moment the request is read.

``python -m bench.stub --port 9000`` serves it alone, for trying things by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field

from aiohttp import web

from bench.scenario import RECEIVER_PATH, STUB_PATH, payload_ok

_OK = b'{"ok":true}'


@dataclass
class Receipts:
    """Which execution's payload arrived when (``time.perf_counter``); futures to wait on."""

    arrived: dict[str, float] = field(default_factory=dict)
    waiters: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    duplicates: int = 0
    """At-least-once delivery may send a payload twice; counted, never a loss."""
    not_ok: int = 0
    """Payloads of flows that failed or lack the mapped fields."""
    malformed: int = 0
    api_calls: int = 0

    def record(self, execution_uuid: str, at: float, ok: bool) -> None:
        if execution_uuid in self.arrived:
            self.duplicates += 1
            return
        self.arrived[execution_uuid] = at
        if not ok:
            self.not_ok += 1
        waiter = self.waiters.pop(execution_uuid, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(at)

    def wait(self, execution_uuid: str) -> asyncio.Future[float]:
        """A future that resolves with the receipt time (at once if it came already)."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        at = self.arrived.get(execution_uuid)
        if at is not None:
            future.set_result(at)
        else:
            self.waiters[execution_uuid] = future
        return future

    def missing(self, uuids: list[str]) -> list[str]:
        return [u for u in uuids if u not in self.arrived]


def make_app(receipts: Receipts) -> web.Application:
    async def api(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            json.loads(body)
        except ValueError:
            receipts.malformed += 1
            return web.Response(status=400, body=b'{"error":"bad json"}')
        receipts.api_calls += 1
        reply = b'{"status":"ok","ref":"%s","score":42}' % str(uuid.uuid4()).encode()
        return web.Response(body=reply, content_type="application/json")

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        at = time.perf_counter()
        try:
            payload = json.loads(body)
            execution_uuid = payload["phonon-uuid"]
        except (ValueError, KeyError, TypeError):
            receipts.malformed += 1
            return web.Response(status=400, body=b'{"error":"bad payload"}')
        receipts.record(execution_uuid, at, payload_ok(payload))
        return web.Response(body=_OK, content_type="application/json")

    app = web.Application()
    app.router.add_post(STUB_PATH, api)
    app.router.add_post(RECEIVER_PATH, hook)
    return app


class Stub:
    """``async with Stub() as stub``: serving on 127.0.0.1; ``stub.api_url``, ``hook_url``."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.receipts = Receipts()
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Stub:
        self._runner = web.AppRunner(make_app(self.receipts), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + STUB_PATH

    @property
    def hook_url(self) -> str:
        return self.base_url + RECEIVER_PATH


def main() -> None:
    parser = argparse.ArgumentParser(description="the stub API and receiver, alone")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()

    async def serve() -> None:
        async with Stub(args.port) as stub:
            print(f"stub API {stub.api_url}, receiver {stub.hook_url}", flush=True)
            while True:
                await asyncio.sleep(10)
                r = stub.receipts
                print(f"api calls {r.api_calls}, payloads {len(r.arrived)}", flush=True)

    asyncio.run(serve())


if __name__ == "__main__":
    main()
