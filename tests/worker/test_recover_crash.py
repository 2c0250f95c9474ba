"""A recover job outlives a SIGKILL of its server: started, cut off after its first batch
(whose deliveries are in flight, held by the receiver), the server killed, started again,
and the job finishes from where it was, every dead letter of the window sent again. Only
the deliveries that were in flight at the kill (never answered) may arrive twice."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.process import Process, create_account, flowhook_env, free_port
from support.receiver import receiver

pytestmark = pytest.mark.slow  # SIGKILLs a real server process

COUNT = 6
FLOW: dict[str, Any] = {
    "name": "notify",
    "type": "outbound",
    "webhook_enabled": True,
    "entry": {"start": "end"},
    "widgets": {"end": {"type": "end"}},
}


async def wait_until(check: Callable[[], Awaitable[bool]], what: Callable[[], str]) -> None:
    deadline = time.monotonic() + 30
    while not await check():
        assert time.monotonic() < deadline, what()
        await asyncio.sleep(0.05)


async def test_a_recover_job_resumes_after_a_sigkill(tmp_path: Path) -> None:
    env = flowhook_env(f"sqlite:///{tmp_path}/recover.db", tmp_path, recover_batch=2)
    key = create_account(env)["api_key"]
    headers = {"Authorization": f"Bearer {key}"}

    async def serve(log: str) -> tuple[Process, str]:
        env["FLOWHOOK_PORT"] = port = str(free_port())
        process = Process(["serve"], env, tmp_path / log)
        await process.listening(int(port))
        return process, f"http://127.0.0.1:{port}"

    async with receiver() as rec, aiohttp.ClientSession(headers=headers) as http:
        rec.default = (400, {"error": "not yet"}, {})  # refused: dead letters at once
        server, base = await serve("serve1.log")
        try:
            async with http.post(
                f"{base}/v1/webhooks", json={"name": "crm", "url": rec.url, "is_default": True}
            ) as resp:
                assert resp.status == 201, await resp.text()
                hook = (await resp.json())["id"]
            async with http.post(f"{base}/v1/flows", json=FLOW) as resp:
                flow_id = (await resp.json())["flow_id"]
            since = time.time() - 1
            for _ in range(COUNT):
                async with http.post(
                    f"{base}/v1/flows/{flow_id}/executions", json={"version": "test"}
                ) as resp:
                    assert resp.status == 202

            async def all_failed() -> bool:
                async with http.get(f"{base}/v1/deliveries?status=FAILED") as resp:
                    return len((await resp.json())["deliveries"]) == COUNT

            await wait_until(all_failed, server.output)
            rec.default = (200, {"ok": True}, {})  # fixed, but answers only when let go
            rec.hold = asyncio.Event()
            first_batch = len(rec.received)
            async with http.post(
                f"{base}/v1/webhooks/{hook}/recover", json={"since": since}
            ) as resp:
                assert resp.status == 202, await resp.text()
                job = await resp.json()
            await rec.wait_for(first_batch + 2)  # the first batch is in flight

            async def job_state() -> dict[str, Any]:
                async with http.get(f"{base}/v1/jobs/{job['id']}") as resp:
                    return dict(await resp.json())

            cut = await job_state()
            assert (cut["status"], cut["done"], cut["total"]) == ("RUNNING", 2, COUNT)
        finally:
            server.kill()
        in_flight = {r.headers["webhook-id"] for r in rec.received[first_batch:]}
        rec.hold.set()

        server, base = await serve("serve2.log")
        try:

            async def finished() -> bool:
                return bool((await job_state())["status"] == "DONE")

            await wait_until(finished, server.output)
            done = await job_state()

            async def all_succeeded() -> bool:
                async with http.get(f"{base}/v1/deliveries?status=SUCCEEDED") as resp:
                    return len((await resp.json())["deliveries"]) == COUNT

            await wait_until(all_succeeded, server.output)
        finally:
            server.stop()

    assert (done["total"], done["done"], done["failed"]) == (COUNT, COUNT, 0)
    sent = Counter(r.headers["webhook-id"] for r in rec.received[first_batch:])
    assert len(sent) == COUNT  # every dead letter of the window, after the kill too
    assert {ident for ident, n in sent.items() if n > 1} <= in_flight
    assert all(n <= 2 for n in sent.values())
