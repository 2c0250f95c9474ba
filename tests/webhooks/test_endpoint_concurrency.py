"""One slow receiver cannot take every connection: deliveries to one endpoint run at most
``delivery_endpoint_concurrency`` at a time, and other endpoints go on meanwhile."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web

from support.receiver import receiver

FLOW: dict[str, Any] = {
    "name": "notify",
    "webhook_enabled": True,
    "entry": {"start": "end"},
    "widgets": {"end": {"type": "end"}},
}


async def account_with_default(api: Any, url: str, name: str) -> tuple[str, str]:
    _, key = await api.account(name, http_enabled=True)
    await api.request(
        "POST", "/v1/webhooks", key=key, json={"name": "d", "url": url, "is_default": True}
    )
    _, flow = await api.request("POST", "/v1/flows", key=key, json=FLOW)
    return key, flow["flow_id"]


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_a_slow_endpoint_is_limited_and_does_not_starve_others(api_with: Any) -> None:
    active = 0
    peak = 0
    slow_done = 0
    release = asyncio.Event()  # the slow endpoint answers only once the fast one was served

    async def slow(request: web.Request) -> web.Response:
        nonlocal active, peak, slow_done
        active += 1
        peak = max(peak, active)
        await release.wait()
        await asyncio.sleep(0.05)
        active -= 1
        slow_done += 1
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/slow", slow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    slow_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/slow"  # type: ignore[union-attr]
    try:
        async with api_with(delivery_endpoint_concurrency=2) as api, receiver() as fast:
            key_a, flow_a = await account_with_default(api, slow_url, "slow")
            key_b, flow_b = await account_with_default(api, fast.url, "fast")
            for _ in range(8):
                await api.request(
                    "POST", f"/v1/flows/{flow_a}/executions", key=key_a, json={"version": "test"}
                )
            deadline = time.monotonic() + 30
            while active < 2:  # the slow endpoint has its share in flight
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            await api.request(
                "POST", f"/v1/flows/{flow_b}/executions", key=key_b, json={"version": "test"}
            )
            try:
                # served while the slow endpoint's queue cannot move: it did not wait for it
                await fast.wait_for(1, timeout=30)
                slow_done_by_then = slow_done
            finally:
                release.set()
            deadline = time.monotonic() + 30
            while slow_done < 8:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
    finally:
        release.set()
        await runner.cleanup()
    assert peak == 2
    assert slow_done_by_then == 0
