"""Scale-out on PostgreSQL: one API process (``serve --no-worker``) and two ``flowhook
worker`` processes share the work; one worker is SIGKILLed mid-run, its leases expire, the
other takes its work over, and every flow's payload reaches the receiver — more than once
only ever under the same ``webhook-id``."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from support.process import Process, create_account, flowhook_env, free_port

pytestmark = pytest.mark.slow  # real API and worker processes, one SIGKILLed

COUNT = 200


def scenario(stub_port: int) -> dict[str, Any]:
    return {
        "name": "scale_out",
        "webhook_enabled": True,
        "entry": {"start": "set"},
        "widgets": {
            "set": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.a", "value": "1"}],
                "next": "call",
            },
            "call": {
                "type": "webhook",
                "request": {
                    "url": f"http://127.0.0.1:{stub_port}/api",
                    "body_type": "JSON",
                    "body": {"a": "$flow.key.a"},
                },
                "response_map": {"$flow.key.score": "data.score"},
                "exits": {"0": "end"},
            },
            "end": {"type": "end"},
        },
    }


async def test_killed_worker_work_is_taken_over_and_delivered_once_per_webhook_id(
    postgres_url: str, tmp_path: Path
) -> None:
    stub_port, api_port = free_port(), free_port()
    ids_by_execution: dict[str, set[str]] = defaultdict(set)

    async def api_stub(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)  # keep work in flight so a kill catches some
        return web.json_response({"status": "ok", "score": 42})

    async def hook(request: web.Request) -> web.Response:
        body = await request.json()
        ids_by_execution[body["phonon-uuid"]].add(request.headers["webhook-id"])
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/api", api_stub)
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", stub_port).start()

    env = flowhook_env(postgres_url, tmp_path, port=api_port, worker_concurrency=50)
    account = create_account(env)
    processes = [Process(["serve", "--no-worker"], env, tmp_path / "api.log")]
    workers = [Process(["worker"], env, tmp_path / f"worker{i}.log") for i in (1, 2)]
    processes += workers
    try:
        await processes[0].listening(api_port)
        base = f"http://127.0.0.1:{api_port}"
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {account['api_key']}"}
        ) as http:
            async with http.post(
                f"{base}/v1/webhooks",
                json={
                    "name": "receiver",
                    "url": f"http://127.0.0.1:{stub_port}/hook",
                    "is_default": True,
                },
            ) as resp:
                assert resp.status == 201, await resp.text()
            async with http.post(f"{base}/v1/flows", json=scenario(stub_port)) as resp:
                flow_id = (await resp.json())["flow_id"]

            async def trigger() -> str:
                async with http.post(
                    f"{base}/v1/flows/{flow_id}/executions", json={"version": "test"}
                ) as resp:
                    assert resp.status == 202, await resp.text()
                    return str((await resp.json())["uuid"])

            uuids = list(await asyncio.gather(*(trigger() for _ in range(COUNT))))
            # kill one worker while work is in flight
            deadline = time.monotonic() + 30
            while len(ids_by_execution) < COUNT // 4:
                assert time.monotonic() < deadline, workers[0].output()
                await asyncio.sleep(0.02)
            workers[0].kill()
            deadline = time.monotonic() + 60
            while len(ids_by_execution) < COUNT:
                assert time.monotonic() < deadline, (len(ids_by_execution), workers[1].output())
                await asyncio.sleep(0.05)
            for uuid in uuids:
                async with http.get(f"{base}/v1/executions/{uuid}") as resp:
                    execution = await resp.json()
                assert execution["status"] == "COMPLETED", execution
                assert execution["variables"]["$flow.key.score"] == 42
    finally:
        for process in processes:
            process.stop()
        await runner.cleanup()
    assert set(ids_by_execution) == set(uuids)
    assert all(len(ids) == 1 for ids in ids_by_execution.values())
