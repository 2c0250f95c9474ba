"""``flowhook serve --processes N``: N server processes on one port, one database; a copy
that dies is started again, and none outlives the first process.

One Python process uses one core (the GIL); the copies share the port (SO_REUSEPORT, the
kernel spreads connections) and the database (SQLite writers take turns on a file lock).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from support.process import Process, create_account, flowhook_env, free_port

pytestmark = pytest.mark.slow  # starts and kills real server processes

FLOW: dict[str, Any] = {
    "name": "count",
    "entry": {"start": "a"},
    "widgets": {
        "a": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.seen", "value": "n=$flow.key.n"}],
            "next": "b",
        },
        "b": {"type": "end"},
    },
}
TRIGGERS = 120


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is gone for our purpose)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


async def fresh(method: str, url: str, key: str | None = None, **kwargs: Any) -> Any:
    """One request on a new connection (the kernel picks a process per connection)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.request(method, url, headers=headers, **kwargs) as resp,
    ):
        return resp.status, await resp.json()


async def test_two_processes_share_the_port_and_the_database(tmp_path: Path) -> None:
    env = flowhook_env(f"sqlite:///{tmp_path}/shared.db", tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Process(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--processes", "2"],
        env,
        tmp_path / "serve.log",
    )
    pids: set[int] = set()
    try:
        await server.listening(port)
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:
            status, body = await fresh("GET", f"{base}/healthz")
            if status == 200:
                pids.add(body["pid"])
            await asyncio.sleep(0.02)
        assert server.proc.pid in pids and len(pids) == 2, (pids, server.output())

        key = create_account(env)["api_key"]
        status, created = await fresh("POST", f"{base}/v1/flows", key, json=FLOW)
        assert status == 201, created
        flow_id = created["flow_id"]
        answers = await asyncio.gather(
            *(
                fresh(
                    "POST",
                    f"{base}/v1/flows/{flow_id}/executions",
                    key,
                    json={"version": "test", "variables": {"$flow.key.n": i}},
                )
                for i in range(TRIGGERS)
            )
        )
        assert all(status == 202 for status, _ in answers), answers
        # every execution ran once, whichever process took it, with its own variables
        for i, (_, accepted) in enumerate(answers):
            for _ in range(500):
                status, execution = await fresh(
                    "GET", f"{base}/v1/executions/{accepted['uuid']}", key
                )
                if execution.get("status") == "COMPLETED":
                    break
                await asyncio.sleep(0.02)
            assert execution["status"] == "COMPLETED", execution
            assert execution["variables"]["$flow.key.seen"] == f"n={i}"

        # a copy that dies is started again
        [copy] = pids - {server.proc.pid}
        os.kill(copy, 9)
        again: set[int] = set()
        deadline = time.monotonic() + 30
        while not again - pids and time.monotonic() < deadline:
            try:
                status, body = await fresh("GET", f"{base}/healthz")
            except aiohttp.ClientError:  # a connection the dead copy had not accepted yet
                continue
            if status == 200:
                again.add(body["pid"])
            await asyncio.sleep(0.05)
        assert again - pids, f"no new copy answered:\n{server.output()}"
        [copy] = again - pids
        pids.add(copy)

        # the copy does not outlive its parent, even one killed with SIGKILL
        server.kill()
        deadline = time.monotonic() + 15
        while alive(copy) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not alive(copy), f"copy {copy} still runs after its parent died"
    finally:
        server.kill()
        for pid in pids:
            if alive(pid):
                os.kill(pid, 9)


async def test_sigterm_stops_the_copies_before_the_first_process_exits(tmp_path: Path) -> None:
    env = flowhook_env(f"sqlite:///{tmp_path}/shared.db", tmp_path)
    port = free_port()
    server = Process(
        ["serve", "--host", "127.0.0.1", "--port", str(port), "--processes", "2"],
        env,
        tmp_path / "serve.log",
    )
    pids: set[int] = set()
    try:
        server.wait_http(port)
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:
            status, body = await fresh("GET", f"http://127.0.0.1:{port}/healthz")
            if status == 200:
                pids.add(body["pid"])
            await asyncio.sleep(0.02)
        [copy] = pids - {server.proc.pid}

        server.proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(server.proc.wait, 60)
        # a graceful stop, and the copies were stopped (and reaped) before it ended
        assert code == 0, server.output()
        assert not alive(copy), f"copy {copy} outlived the stopped server"
    finally:
        server.kill()
        for pid in pids:
            if alive(pid):
                os.kill(pid, 9)
