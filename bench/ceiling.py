"""The ceiling: the reference scenario as a bare aiohttp program.

No framework, no storage, no durability, no signing: the trigger answers 202 with a uuid,
then a task sets the three variables, POSTs them to the stub, takes ``ref`` and ``score``
from the answer and POSTs a default-like payload to the receiver. It is what one Python
process can do with the same three HTTP exchanges per flow; flowhook's figures are printed
as a ratio of it.

``python -m bench.ceiling --port P --stub-url U --receiver-url U --api-key K``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from bench.scenario import FLOW_NAME, VARIABLES

FLOW_ID = "ceiling1"
JSON_HEADERS = {"Content-Type": "application/json"}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


class Ceiling:
    def __init__(self, stub_url: str, receiver_url: str, api_key: str) -> None:
        self.stub_url = stub_url
        self.receiver_url = receiver_url
        self.authorization = f"Bearer {api_key}"
        self.session: aiohttp.ClientSession | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.failures = 0

    async def start(self, _app: web.Application) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=100, keepalive_timeout=30)
        self.session = aiohttp.ClientSession(connector=connector)

    async def stop(self, _app: web.Application) -> None:
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=5)
        if self.session is not None:
            await self.session.close()

    async def trigger(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != self.authorization:
            return web.Response(status=401, body=b'{"error":"unauthorized"}')
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        execution_uuid, request_id = str(uuid.uuid4()), str(uuid.uuid4())
        task = asyncio.create_task(
            self.run_flow(execution_uuid, request_id, body.get("variables") or {})
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return web.Response(
            status=202,
            body=_dumps({"uuid": execution_uuid, "request_id": request_id}),
            content_type="application/json",
        )

    async def run_flow(self, execution_uuid: str, request_id: str, given: dict[str, Any]) -> None:
        assert self.session is not None
        started = time.time()
        variables = {**given, **VARIABLES}
        body = {
            "customer": variables["flow.key.customer"],
            "amount": variables["flow.key.amount"],
            "order": variables["flow.key.order"],
        }
        try:
            async with self.session.post(
                self.stub_url, data=_dumps(body), headers=JSON_HEADERS
            ) as resp:
                answer = json.loads(await resp.read())
            variables["flow.key.ref"] = answer["ref"]
            variables["flow.key.score"] = answer["score"]
            payload = {
                "phonon-uuid": execution_uuid,
                "request-id": request_id,
                "flow-id": FLOW_ID,
                "flow-name": FLOW_NAME,
                "flowStatus": "COMPLETED",
                "startTime": _iso(started),
                "endTime": _iso(time.time()),
                "keys": [{"name": f"${k}", "value": v} for k, v in variables.items()],
            }
            async with self.session.post(
                self.receiver_url, data=_dumps(payload), headers=JSON_HEADERS
            ) as resp:
                await resp.read()
        except (aiohttp.ClientError, OSError, ValueError, KeyError):
            self.failures += 1


def make_app(ceiling: Ceiling) -> web.Application:
    app = web.Application()
    app.router.add_post("/v1/flows/{flow_id}/executions", ceiling.trigger)

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(body=b'{"status":"ok"}', content_type="application/json")

    app.router.add_get("/healthz", healthz)
    app.on_startup.append(ceiling.start)
    app.on_cleanup.append(ceiling.stop)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="the reference scenario, bare aiohttp")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stub-url", required=True)
    parser.add_argument("--receiver-url", required=True)
    parser.add_argument("--api-key", default="ceiling")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()  # flowhook serve runs on uvloop too
    except ImportError:
        pass
    ceiling = Ceiling(args.stub_url, args.receiver_url, args.api_key)
    web.run_app(
        make_app(ceiling),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
        backlog=1024,
    )


if __name__ == "__main__":
    main()
