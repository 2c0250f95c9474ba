"""On PostgreSQL an API-only process wakes idle workers with NOTIFY: a trigger is picked
up at once, not at the worker's next poll (here 10 s away)."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp

from support.process import Process, create_account, flowhook_env, free_port

FLOW = {"name": "quick", "entry": {"start": "e"}, "widgets": {"e": {"type": "end"}}}


async def test_a_trigger_wakes_an_idle_worker_without_waiting_for_its_poll(
    postgres_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = flowhook_env(postgres_url, tmp_path, port=port, poll_interval_s=10)
    account = create_account(env)
    api = Process(["serve", "--no-worker"], env, tmp_path / "api.log")
    worker = Process(["worker"], env, tmp_path / "worker.log")
    try:
        api.wait_http(port)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {account['api_key']}"}
        ) as http:
            async with http.post(f"{base}/v1/flows", json=FLOW) as resp:
                flow_id = (await resp.json())["flow_id"]
            time.sleep(1.0)  # the worker is listening and idle now
            waits = []
            for _ in range(3):
                started = time.monotonic()
                async with http.post(
                    f"{base}/v1/flows/{flow_id}/executions", json={"version": "test"}
                ) as resp:
                    uuid = (await resp.json())["uuid"]
                while True:
                    async with http.get(f"{base}/v1/executions/{uuid}") as resp:
                        if (await resp.json())["status"] == "COMPLETED":
                            break
                    assert time.monotonic() - started < 8, worker.output()
                    time.sleep(0.01)
                waits.append(time.monotonic() - started)
    finally:
        api.stop()
        worker.stop()
    assert max(waits) < 2.0, waits  # a poll would have taken up to 10 s
