"""A webhook's limits hold across worker processes on PostgreSQL: one API process and
three ``flowhook worker`` processes send a backlog of flow-complete deliveries to a
receiver that counts them per second and counts its concurrent requests.

The rate is measured over 15 s of steady backlog, not a minute: the token bucket holds at
most one second's worth, so the only possible excess over any window is that one burst
(20 deliveries), which is 6.7 % of 15 s at 20/s and would show in any window of 10 s or
more; 15 s keeps the test's run time (and the shared machine's load) down."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from support.process import Process, create_account, flowhook_env, free_port
from support.receiver import HookServer

# real API and worker processes on PostgreSQL; rates measured: alone, not beside other tests
pytestmark = [pytest.mark.slow, pytest.mark.serial]

RATE = 20
WINDOW_S = 15
MAX_IN_FLIGHT = 5

FLOW = {
    "name": "limited",
    "webhook_enabled": True,
    "entry": {"start": "end"},
    "widgets": {"end": {"type": "end"}},
}


class Receiver(HookServer):
    """Counts deliveries (by webhook-id, with their arrival times) and concurrent requests."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.arrivals: list[float] = []
        self.ids: Counter[str] = Counter()
        self.now = 0
        self.most = 0
        self.peak = 0  # the most at once since the test last reset it
        self.open_from: set[int] = set()  # the client ports of the requests open now

    async def hook(self, request: web.Request) -> web.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        self.peak = max(self.peak, self.now)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        port = int(peer[1]) if peer else 0
        self.open_from.add(port)
        try:
            self.arrivals.append(time.monotonic())
            self.ids[request.headers["webhook-id"]] += 1
            await asyncio.sleep(self.delay)
        finally:
            self.now -= 1
            self.open_from.discard(port)
        return web.json_response({"ok": True})


def sender_of(ports: set[int], workers: list[Process]) -> Process | None:
    """The worker whose socket has one of the local ``ports`` (read from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) in ports:
                    inodes.add(f"socket:[{fields[9]}]")
    for worker in workers:
        fds = Path(f"/proc/{worker.proc.pid}/fd")
        with contextlib.suppress(OSError):
            for fd in fds.iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return worker
    return None


async def run_backlog(
    postgres_url: str,
    tmp_path: Path,
    receiver: Receiver,
    limits: dict[str, Any],
    count: int,
    during: Any,
) -> list[Process]:
    """Three workers, ``count`` executions whose deliveries go to a webhook with
    ``limits``; ``during(workers)`` runs while they are sent; returns when every delivery
    has arrived."""
    api_port = free_port()
    env = flowhook_env(postgres_url, tmp_path, port=api_port, lease_seconds=3)
    account = create_account(env)
    api = Process(["serve", "--no-worker"], env, tmp_path / "api.log")
    workers: list[Process] = []
    try:
        await api.listening(api_port, timeout=180)  # a loaded machine: no upper bound meant
        workers += [Process(["worker"], env, tmp_path / f"worker{i}.log") for i in (1, 2, 3)]
        base = f"http://127.0.0.1:{api_port}"
        async with aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {account['api_key']}"}
        ) as http:
            webhook = {
                "name": "limited",
                "url": f"http://127.0.0.1:{receiver.port}/hook",
                "is_default": True,
                **limits,
            }
            async with http.post(f"{base}/v1/webhooks", json=webhook) as resp:
                assert resp.status == 201, await resp.text()
            async with http.post(f"{base}/v1/flows", json=FLOW) as resp:
                flow_id = (await resp.json())["flow_id"]

            async def trigger() -> None:
                async with http.post(
                    f"{base}/v1/flows/{flow_id}/executions", json={"version": "test"}
                ) as resp:
                    assert resp.status == 202, await resp.text()

            await asyncio.gather(*(trigger() for _ in range(count)))
            await during(workers)
            while len(receiver.ids) < count:
                alive = [w for w in workers if w.proc.poll() is None]
                assert alive, [w.output() for w in workers]
                await asyncio.sleep(0.1)
    finally:
        for process in [api, *workers]:
            process.stop()
    return workers


async def test_a_rate_limit_holds_across_three_workers(postgres_url: str, tmp_path: Path) -> None:
    count = RATE * (WINDOW_S + 6)  # a backlog through the whole window and beyond
    async with Receiver() as receiver:

        async def measure(_workers: list[Process]) -> None:
            while not receiver.arrivals:
                await asyncio.sleep(0.05)
            # past the first seconds (the bucket's one-second burst, the workers warming up)
            await asyncio.sleep(2 + WINDOW_S + 1)

        await run_backlog(postgres_url, tmp_path, receiver, {"rate_limit": RATE}, count, measure)

    start = receiver.arrivals[0] + 2
    window = [t for t in receiver.arrivals if start <= t < start + WINDOW_S]
    per_second = Counter(int(t - start) for t in window)
    rate = len(window) / WINDOW_S
    print(f"rate over {WINDOW_S}s: {rate:.2f}/s; per second: {sorted(per_second.values())}")
    assert receiver.arrivals[-1] > start + WINDOW_S  # the backlog lasted the whole window
    assert RATE * 0.9 <= rate <= RATE * 1.1, (rate, per_second)
    assert all(n == 1 for n in receiver.ids.values())  # each delivered once: none dropped


async def test_a_concurrency_limit_holds_across_three_workers_and_a_killed_one_leaks_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    count = 150
    async with Receiver(delay=0.2) as receiver:

        async def kill_one(workers: list[Process]) -> None:
            victim = None
            while victim is None:
                await asyncio.sleep(0.005)
                if len(receiver.ids) >= count // 3 and receiver.now == MAX_IN_FLIGHT:
                    victim = sender_of(receiver.open_from, workers)
            victim.kill()  # it dies holding some of the five slots
            seen = len(receiver.ids)
            receiver.peak = 0
            # its leases expire (3 s) and the others fill all five slots again
            while receiver.peak < MAX_IN_FLIGHT or len(receiver.ids) < seen + 20:
                await asyncio.sleep(0.02)
            refilled.append(receiver.peak)

        refilled: list[int] = []
        await run_backlog(
            postgres_url, tmp_path, receiver, {"max_in_flight": MAX_IN_FLIGHT}, count, kill_one
        )
    again = sum(1 for n in receiver.ids.values() if n > 1)
    print(f"most in flight: {receiver.most}; after the kill: {refilled}; sent again: {again}")
    assert receiver.most <= MAX_IN_FLIGHT, receiver.most
    assert refilled == [MAX_IN_FLIGHT]  # the dead worker's slots came back
    assert again >= 1  # it died mid-send: what it held was sent again, same webhook-id
    assert len(receiver.ids) == count
