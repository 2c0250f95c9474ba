"""A real flowhook server for tests: the ASGI app served by uvicorn on 127.0.0.1 (random
port) inside the test's event loop, and an aiohttp client that talks to it."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import uvicorn

from flowhook.api.app import create_app
from flowhook.runtime import Runtime
from flowhook.settings import Settings
from flowhook.store import accounts as account_repo
from support.egress import LOOPBACK_ONLY


@dataclass
class Api:
    base_url: str
    runtime: Runtime
    session: aiohttp.ClientSession
    settings: Settings
    app: Any = None  # the ASGI application the server runs

    async def request(
        self, method: str, path: str, *, key: str | None = None, **kwargs: Any
    ) -> tuple[int, Any]:
        headers = dict(kwargs.pop("headers", {}) or {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        async with self.session.request(
            method, self.base_url + path, headers=headers, **kwargs
        ) as resp:
            text = await resp.text()
            try:
                import json

                body: Any = json.loads(text) if text else None
            except ValueError:
                body = text
            return resp.status, body

    async def account(self, name: str = "acme", **settings: Any) -> tuple[str, str]:
        """Create an account straight in the store; return (account_id, api_key)."""
        account, key = await self.runtime.store.write(
            lambda c: account_repo.create(c, name, self.runtime.cipher, time.time(), **settings)
        )
        return account.id, key

    async def wait_for(
        self,
        uuid: str,
        key: str,
        *,
        statuses: tuple[str, ...] = ("COMPLETED", "FAILED"),
        timeout: float = 15.0,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status, body = await self.request("GET", f"/v1/executions/{uuid}", key=key)
            if status == 200 and body["status"] in statuses:
                return dict(body)
            if time.monotonic() > deadline:
                raise AssertionError(f"execution {uuid} still {body} after {timeout}s")
            await asyncio.sleep(0.02)


def error_code(body: Any) -> str:
    """The code of an API error, checking the error envelope's shape on the way."""
    assert set(body) == {"error"} and {"code", "message", "details"} == set(body["error"]), body
    code: str = body["error"]["code"]
    return code


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def settings_for(database_url: str, data_dir: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "secret_key": "",
        "allow_private_targets": True,
        "egress_allow": LOOPBACK_ONLY,
        "operator_token": "operator-secret",
        "lease_seconds": 2.0,
        "poll_interval_s": 0.05,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_api(settings: Settings, *, worker: bool = True) -> AsyncIterator[Api]:
    runtime = Runtime.build(settings)
    app = create_app(settings, worker=worker, runtime=runtime)
    sock = free_socket()
    port = sock.getsockname()[1]
    # as `flowhook serve` configures it (cli.py): the application alone judges X-Forwarded-For
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", proxy_headers=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    session = aiohttp.ClientSession()
    try:
        yield Api(f"http://127.0.0.1:{port}", runtime, session, settings, app)
    finally:
        await session.close()
        server.should_exit = True
        await task
        sock.close()
