"""A worker whose lease ran out (a long pause) while another worker took the execution over
stops at its next checkpoint: it neither overwrites the new owner's progress nor runs the
rest of the flow a second time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import update

from flowhook.runtime import Runtime
from flowhook.store.tables import executions
from support.app import running_api, settings_for
from support.process import free_port


@asynccontextmanager
async def receiver(slow_seconds: float) -> AsyncIterator[tuple[int, dict[str, int]]]:
    """A local API: ``/slow`` answers after ``slow_seconds``, ``/fast`` at once; counts calls."""
    calls: dict[str, int] = {}

    async def handle(request: web.Request) -> web.Response:
        calls[request.path] = calls.get(request.path, 0) + 1
        if request.path == "/slow":
            await asyncio.sleep(slow_seconds)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/slow", handle)
    app.router.add_post("/fast", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield port, calls
    finally:
        await runner.cleanup()


def call(port: int, path: str, next_: str) -> dict[str, Any]:
    return {
        "type": "webhook",
        "request": {"method": "POST", "url": f"http://127.0.0.1:{port}{path}", "timeout_s": 10},
        "exits": {"0": next_},
    }


async def wait_until(condition: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_a_worker_that_lost_its_lease_stops_at_its_next_checkpoint(
    sqlite_url: str, tmp_path: Path
) -> None:
    # A long lease: nobody takes the execution over unless the test expires the lease. The
    # first worker does not look for due work meanwhile (a paused worker would not either).
    settings = settings_for(sqlite_url, tmp_path, lease_seconds=30)
    paused = settings.model_copy(update={"poll_interval_s": 60.0})
    async with receiver(slow_seconds=1.0) as (port, calls), running_api(paused) as api:
        _, key = await api.account(http_enabled=True)
        doc = {
            "name": "two_calls",
            "entry": {"start": "first"},
            "widgets": {
                "first": call(port, "/slow", "second"),
                "second": call(port, "/fast", "end"),
                "end": {"type": "end"},
            },
        }
        status, created = await api.request("POST", "/v1/flows", key=key, json=doc)
        assert status == 201, created
        status, body = await api.request(
            "POST", f"/v1/flows/{created['flow_id']}/executions", key=key, json={"version": "test"}
        )
        assert status == 202, body
        uuid = body["uuid"]
        await wait_until(lambda: calls.get("/slow") == 1)

        # the first worker stalls in its call; its lease runs out; a second worker takes over
        await api.runtime.store.write(
            lambda c: c.execute(
                update(executions).where(executions.c.uuid == uuid).values(lease_until=0.0)
            )
        )
        second_worker = Runtime.build(settings)
        await second_worker.start(worker=True)
        try:
            await wait_until(lambda: calls.get("/slow") == 2)
            execution = await api.wait_for(uuid, key)
            await wait_until(lambda: not api.runtime.runner.in_flight)
            await wait_until(lambda: not second_worker.runner.in_flight)
        finally:
            await second_worker.stop()
        final = await api.wait_for(uuid, key)

    assert calls == {"/slow": 2, "/fast": 1}  # the side effect replayed once, no more
    assert execution["status"] == final["status"] == "COMPLETED"
    assert [s["widget"] for s in final["steps"]] == ["first", "second", "end"]
    assert final["step_count"] == 3
