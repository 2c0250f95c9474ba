"""Nothing is lost: SIGKILL the server while 500 deliveries wait for a receiver that is
down, bring the receiver up, restart, and count exactly 500 distinct webhook-ids."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import create_engine, text

from support.process import Process, create_account, flowhook_env, free_port

pytestmark = pytest.mark.slow  # SIGKILLs a real server with 500 deliveries pending

COUNT = 500
FLOW = {
    "name": "notify",
    "type": "outbound",
    "webhook_enabled": True,
    "entry": {"start": "set"},
    "widgets": {
        "set": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.n", "value": "$flow.key.i"}],
        }
    },
}


def pending(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM deliveries WHERE status='PENDING'")
                ).scalar_one()
            )
    finally:
        engine.dispose()


async def test_sigkill_with_500_pending_deliveries_loses_none(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path}/crash.db"
    hook_port, api_port = free_port(), free_port()
    # a long, fast schedule: the receiver is down for a while, nothing may dead-letter;
    # the endpoint's circuit opens and holds the deliveries back for 1 s at a time
    env = flowhook_env(
        db_url,
        tmp_path,
        port=api_port,
        delivery_schedule_s="[" + ",".join(["0"] + ["0.3"] * 60) + "]",
        breaker_cooldown_s=1,
    )
    account = create_account(env)
    auth = {"Authorization": f"Bearer {account['api_key']}"}
    base = f"http://127.0.0.1:{api_port}"

    server = Process(["serve"], env, tmp_path / "serve1.log")
    try:
        await server.listening(api_port)
        async with aiohttp.ClientSession(headers=auth) as http:
            async with http.post(
                f"{base}/v1/webhooks",
                json={
                    "name": "receiver",
                    "url": f"http://127.0.0.1:{hook_port}/hook",
                    "is_default": True,
                },
            ) as resp:
                assert resp.status == 201, await resp.text()
            async with http.post(f"{base}/v1/flows", json=FLOW) as resp:
                flow_id = (await resp.json())["flow_id"]

            async def trigger(i: int) -> str:
                async with http.post(
                    f"{base}/v1/flows/{flow_id}/executions",
                    json={"version": "test", "variables": {"$flow.key.i": i}},
                ) as resp:
                    assert resp.status == 202, await resp.text()
                    return str((await resp.json())["uuid"])

            uuids: list[str] = []
            for start in range(0, COUNT, 50):
                uuids += await asyncio.gather(*(trigger(i) for i in range(start, start + 50)))
        deadline = time.monotonic() + 60
        while pending(db_url) < COUNT:
            assert time.monotonic() < deadline, server.output()
            await asyncio.sleep(0.1)
    finally:
        server.kill()

    received: dict[str, int] = {}

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        received[request.headers["webhook-id"]] = received.get(request.headers["webhook-id"], 0) + 1
        assert body["phonon-uuid"] in uuids
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", hook_port).start()
    restarted = Process(["serve"], env, tmp_path / "serve2.log")
    try:
        await restarted.listening(api_port)
        deadline = time.monotonic() + 90
        while len(received) < COUNT or pending(db_url):
            assert time.monotonic() < deadline, (len(received), restarted.output())
            await asyncio.sleep(0.1)
    finally:
        restarted.stop()
        await runner.cleanup()
    assert len(received) == COUNT  # every execution's delivery, each under its own webhook-id
