"""CPU per outgoing call: ``HttpClient.send`` beside a plain aiohttp ``session.post`` (what
``bench/ceiling.py`` does) and beside the lean transport alone (``wire.py``'s
``Wire.request``, without the guard, deadline and result of ``transport.py``), against the
bench stub in its own process on 127.0.0.1; and the webhook widget's own work per call (the
scenario's widget, its call answered at once).

The scenario's two calls per flow go through ``HttpClient.send``; this isolates what our
wrapping (guard, timeout, size cap, result) adds to the wire's own cost, and how both
compare with aiohttp's, without the rest of the engine. Rounds of each kind alternate
(plain, wire, ours, plain, wire, ours, …) so that other work on a shared machine weighs on
all alike; CPU is this process's ``time.process_time`` (the stub's CPU is not counted).

The widget part runs ``WebhookWidget.run`` of the scenario (build the request, log it, map
the answer, set the results) with an ``HttpClient`` that answers what the stub would, without
a network: what remains is the widget's work per call, timed alone.

``python -m bench.http_client --calls 3000 --rounds 4 --concurrency 10``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from tempfile import TemporaryDirectory

import aiohttp
from yarl import URL

from bench import procs
from bench.scenario import STUB_PATH, VARIABLES, flow_document
from flowhook.domain.account import AccountInfo
from flowhook.domain.message import HttpResult, OutgoingRequest
from flowhook.engine.context import Services, StepContext
from flowhook.engine.state import ExecutionState
from flowhook.settings import Settings
from flowhook.webhooks.client import HttpClient
from flowhook.webhooks.resolver import GuardedResolver
from flowhook.webhooks.wire import Wire, request_head
from flowhook.widgets.webhook import WebhookWidget

BODY = json.dumps({"customer": 'Asha "A" <&>', "amount": 42, "order": "A-17"}).encode()
JSON_HEADERS = {"Content-Type": "application/json"}

Call = Callable[[], Awaitable[object]]


async def _run(call: Call, calls: int, concurrency: int) -> float:
    """CPU seconds of this process for ``calls`` calls, ``concurrency`` at a time."""
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.process_time() - started


async def measure(url: str, calls: int, rounds: int, concurrency: int) -> dict[str, list[float]]:
    """µs of CPU per call, per round, for each kind of call."""
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=100, keepalive_timeout=30)
    session = aiohttp.ClientSession(connector=connector)
    settings = Settings(allow_private_targets=True)
    client = HttpClient(settings)
    wire = Wire(GuardedResolver(allow_private=True), settings.per_host_connections)
    target = URL(url)

    async def plain() -> object:
        async with session.post(url, data=BODY, headers=JSON_HEADERS) as resp:
            return json.loads(await resp.read())

    async def ours() -> object:
        request = OutgoingRequest("POST", url, dict(JSON_HEADERS), BODY)
        result = await client.send(request, http_enabled=True)
        assert result.ok, result.error_message
        return json.loads(result.body)

    async def lean() -> object:
        head = request_head("POST", target, JSON_HEADERS, BODY)
        response = await wire.request(target, "POST", head, BODY, settings.response_max_bytes)
        assert response.status == 200, response.status
        return json.loads(response.body)

    kinds: dict[str, Call] = {"aiohttp": plain, "wire alone": lean, "HttpClient.send": ours}
    figures: dict[str, list[float]] = {name: [] for name in kinds}
    try:
        for call in kinds.values():  # warm-up: connections open, code paths loaded
            await _run(call, max(calls // 10, concurrency), concurrency)
        for _ in range(rounds):
            for name, call in kinds.items():
                figures[name].append(await _run(call, calls, concurrency) / calls * 1e6)
    finally:
        await session.close()
        await client.close()
        await wire.close()
    return figures


class _Answered:
    """Stands for ``HttpClient``: answers each call as the stub does, at once."""

    async def send(
        self, req: OutgoingRequest, *, http_enabled: bool, follow_redirects: bool = False
    ) -> HttpResult:
        return HttpResult(
            status=200,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Content-Length": "74",
                "Date": "Mon, 30 Nov 2026 15:07:36 GMT",
                "Server": "Python/3.11 aiohttp/3.14.5",
            },
            body=b'{"status":"ok","ref":"6f1c8a52-61a4-4f0e-9d7e-2b1d0c3a9e11","score":42}',
            duration_s=0.001,
        )


async def widget_us(runs: int, rounds: int) -> list[float]:
    """µs of CPU per run of the scenario's webhook widget, per round (best of each)."""
    config = flow_document("http://127.0.0.1:9/api/orders")["widgets"]["call"]
    widget = WebhookWidget("call", WebhookWidget.Config.model_validate(config))
    services = Services(settings=Settings(allow_private_targets=True))
    services.add(_Answered(), HttpClient)
    account = AccountInfo(id="a", timezone="UTC")
    figures = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(runs):
            state = ExecutionState(
                uuid="u", account_id="a", flow_id="f", version="v1", request_id="r"
            )
            state.variables.update(VARIABLES)
            await widget.run(StepContext(state, "call", account, services))
        figures.append((time.process_time() - started) / runs * 1e6)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls", type=int, default=3000, help="calls per round and kind (0: skip)"
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--widget-runs", type=int, default=20000, help="0: skip the widget")
    args = parser.parse_args()
    import uvloop  # flowhook serve runs on uvloop, as the ceiling does

    if args.widget_runs:
        per_round = uvloop.run(widget_us(args.widget_runs, args.rounds))
        rounds = " ".join(f"{x:.1f}" for x in per_round)
        print(f"{'widget own work':16} {min(per_round):6.1f} µs CPU/run (best)  rounds: {rounds}")
    if not args.calls:
        return
    port = procs.free_port()
    with TemporaryDirectory(prefix="flowhook-http-bench-") as tmp:
        stub = procs.start(
            "stub",
            [sys.executable, "-m", "bench.stub", "--port", str(port)],
            dict(os.environ),
            Path(tmp),
        )
        try:
            procs.wait_http(f"http://127.0.0.1:{port}/", stub)  # any answer: it is up
            figures = uvloop.run(
                measure(
                    f"http://127.0.0.1:{port}{STUB_PATH}", args.calls, args.rounds, args.concurrency
                )
            )
        finally:
            procs.stop(stub)
    base = statistics.median(figures["aiohttp"])
    for name, per_round in figures.items():
        median = statistics.median(per_round)
        rounds = " ".join(f"{x:.0f}" for x in per_round)
        print(f"{name:16} {median:6.1f} µs CPU/call  ({median / base:.2f}x)  rounds: {rounds}")


if __name__ == "__main__":
    main()
