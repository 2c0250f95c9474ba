"""Ordered delivery holds across worker processes on PostgreSQL: one API process and three
``flowhook worker`` processes send the flow-complete deliveries of an ordered webhook
(by contact number) for several customers at once, to a receiver that fails every fourth
request. For every customer the receiver sees the sequence numbers in order, a later one
only after the one before it succeeded, and never two of one customer at once."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter, defaultdict
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from support.process import Process, create_account, flowhook_env, free_port
from support.receiver import HookServer

pytestmark = pytest.mark.slow  # real API and worker processes on PostgreSQL

CUSTOMERS = [f"98799648{n:02d}" for n in range(4)]
EACH = 12

FLOW = {
    "name": "ordered",
    "type": "outbound",
    "webhook_enabled": True,
    "entry": {"start": "end"},
    "widgets": {"end": {"type": "end"}},
}


class Receiver(HookServer):
    """Records, per customer, each request's sequence number and answer, and how many of
    one customer's requests were open at once."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.open: Counter[str] = Counter()
        self.most_open = 0
        self.requests = 0

    async def hook(self, request: web.Request) -> web.Response:
        customer = str(json.loads(await request.read())["contact"])[-10:]
        sequence = int(request.headers["webhook-sequence"])
        self.open[customer] += 1
        self.most_open = max(self.most_open, self.open[customer])
        try:
            self.requests += 1
            status = 503 if self.requests % 4 == 0 else 200
            await asyncio.sleep(0.01)  # open long enough for a second one to overlap
            self.seen[customer].append((sequence, status))
        finally:
            self.open[customer] -= 1
        return web.json_response({}, status=status)

    def done(self) -> bool:
        return all(sum(1 for _, status in self.seen[c] if status == 200) >= EACH for c in CUSTOMERS)


async def test_three_workers_never_send_one_key_out_of_order(
    postgres_url: str, tmp_path: Path
) -> None:
    api_port = free_port()
    env = flowhook_env(
        postgres_url,
        tmp_path,
        port=api_port,
        lease_seconds=5,
        delivery_schedule_s=json.dumps([0] + [0.05] * 50),
        breaker_failures=0,
    )
    account = create_account(env)
    api = Process(["serve", "--no-worker"], env, tmp_path / "api.log")
    workers: list[Process] = []
    async with Receiver() as receiver:
        try:
            await api.listening(api_port, timeout=180)  # a loaded machine: no bound meant
            workers += [Process(["worker"], env, tmp_path / f"worker{i}.log") for i in (1, 2, 3)]
            base = f"http://127.0.0.1:{api_port}"
            async with aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {account['api_key']}"}
            ) as http:
                webhook = {
                    "name": "ordered",
                    "url": f"http://127.0.0.1:{receiver.port}/hook",
                    "is_default": True,
                    "ordered_by": "contact",
                    "body_type": "JSON",
                    "body": {"contact": "$call.dnis.number"},
                }
                async with http.post(f"{base}/v1/webhooks", json=webhook) as resp:
                    assert resp.status == 201, await resp.text()
                async with http.post(f"{base}/v1/flows", json=FLOW) as resp:
                    flow_id = (await resp.json())["flow_id"]

                async def trigger(dnis: str) -> None:
                    body = {"version": "test", "dnis": dnis}
                    url = f"{base}/v1/flows/{flow_id}/executions"
                    async with http.post(url, json=body) as resp:
                        assert resp.status == 202, await resp.text()

                # every customer's executions at once, interleaved
                await asyncio.gather(*(trigger(c) for _ in range(EACH) for c in CUSTOMERS))
                while not receiver.done():
                    alive = [w for w in workers if w.proc.poll() is None]
                    assert alive, [w.output() for w in workers]
                    await asyncio.sleep(0.1)
        finally:
            for process in [api, *workers]:
                process.stop()

    print(f"requests: {receiver.requests}; most open of one customer: {receiver.most_open}")
    assert receiver.most_open == 1
    for customer in CUSTOMERS:
        seen = receiver.seen[customer]
        assert [s for s, status in seen if status == 200] == list(range(1, EACH + 1)), seen
        # a retry repeats its number; the next number comes only after a success
        for (before, status), (after, _) in itertools.pairwise(seen):
            assert after == (before + 1 if status == 200 else before), seen
    assert any(status == 503 for seen in receiver.seen.values() for _, status in seen)
