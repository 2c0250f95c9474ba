"""Fairness: one account's big campaign does not hold back another account's single flow.
Claims are shared between the accounts that have due work, so a flow of a quiet account is
picked up in the next claim round, not after the whole campaign."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import web

from flowhook.engine.triggers import new_execution

CAMPAIGN = 3000
CONCURRENCY = 20


def slow_flow(url: str) -> dict[str, Any]:
    return {
        "name": "campaign",
        "entry": {"start": "call"},
        "widgets": {"call": {"type": "webhook", "request": {"url": url}}},
    }


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_campaign_does_not_hold_back_another_accounts_flow(api_with: Any) -> None:
    answered = 0  # the campaign's calls answered so far
    in_flight = 0
    busy = asyncio.Event()  # the campaign runs at full concurrency

    async def slow(_: web.Request) -> web.Response:
        nonlocal answered, in_flight
        in_flight += 1
        if in_flight >= CONCURRENCY:
            busy.set()
        await asyncio.sleep(0.1)  # a slow receiver: the campaign lasts a while
        in_flight -= 1
        answered += 1
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/slow", slow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/slow"  # type: ignore[union-attr]
    try:
        async with api_with(worker_concurrency=CONCURRENCY, claim_batch=CONCURRENCY) as api:
            _, key_a = await api.account("big", http_enabled=True)
            _, key_b = await api.account("small", http_enabled=True)
            _, flow_a = await api.request("POST", "/v1/flows", key=key_a, json=slow_flow(url))
            _, flow_b = await api.request(
                "POST",
                "/v1/flows",
                key=key_b,
                json={
                    "name": "inbound",
                    "type": "inbound",
                    "entry": {"start": "e"},
                    "widgets": {"e": {"type": "end"}},
                },
            )
            account_a = await api.runtime.catalog.account(
                (await api.runtime.catalog.flow_record(flow_a["flow_id"])).account_id
            )
            now = time.time()
            states = [
                new_execution(account_a, flow_a["flow_id"], "outbound", version="test", now=now)
                for _ in range(CAMPAIGN)
            ]
            await api.runtime.runner.accept(states, run_here=False)
            await asyncio.wait_for(busy.wait(), 60)
            status, body = await api.request(
                "POST",
                f"/v1/flows/{flow_b['flow_id']}/executions",
                key=key_b,
                json={"version": "test"},
            )
            assert status == 202
            await api.wait_for(body["uuid"], key_b, timeout=120)
            answered_by_then = answered
    finally:
        await runner.cleanup()
    # Counted, not timed: behind the campaign the flow would have waited for all of it. A
    # slower machine only answers fewer of the campaign's calls meanwhile.
    assert answered_by_then < CAMPAIGN // 2, answered_by_then
