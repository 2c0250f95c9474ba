"""On PostgreSQL an API-only process wakes idle workers with NOTIFY: a trigger is picked
up at once, not at the worker's next poll (here an hour away, so a flow that completes at
all was woken by the notification; no timing is measured)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import create_engine, text

from support.process import Process, create_account, flowhook_env, free_port

pytestmark = pytest.mark.slow  # real API and worker processes on PostgreSQL

FLOW = {"name": "quick", "entry": {"start": "e"}, "widgets": {"e": {"type": "end"}}}
POLL_S = 3600  # the worker's poll: never reached while the test runs


def listeners(database_url: str) -> int:
    """Connections to this database whose last statement was the worker's LISTEN."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            query = text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN %'"
            )
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


async def test_a_trigger_wakes_an_idle_worker_without_waiting_for_its_poll(
    postgres_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = flowhook_env(postgres_url, tmp_path, port=port, poll_interval_s=POLL_S)
    account = create_account(env)
    api = Process(["serve", "--no-worker"], env, tmp_path / "api.log")
    worker = Process(["worker"], env, tmp_path / "worker.log")
    try:
        await api.listening(port)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {account['api_key']}"}
        ) as http:
            async with http.post(f"{base}/v1/flows", json=FLOW) as resp:
                flow_id = (await resp.json())["flow_id"]
            # the event: the worker LISTENs (its first claim, at start, found nothing)
            deadline = time.monotonic() + 60
            while await asyncio.to_thread(listeners, postgres_url) < 1:
                assert time.monotonic() < deadline, worker.output()
                await asyncio.sleep(0.05)
            for _ in range(3):
                async with http.post(
                    f"{base}/v1/flows/{flow_id}/executions", json={"version": "test"}
                ) as resp:
                    uuid = (await resp.json())["uuid"]
                deadline = time.monotonic() + 60  # a timeout for a hung test, far below POLL_S
                while True:
                    async with http.get(f"{base}/v1/executions/{uuid}") as resp:
                        if (await resp.json())["status"] == "COMPLETED":
                            break
                    assert time.monotonic() < deadline, worker.output()
                    await asyncio.sleep(0.02)
    finally:
        api.stop()
        worker.stop()
