"""The load generator: triggers flows and waits for their flow-complete payloads.

Closed loop: ``concurrency`` workers, each triggers a flow and waits until the receiver
has that execution's payload before it triggers the next. Open loop: triggers at a fixed
rate whatever happens, latency measured from the *scheduled* send time (so a slow system
cannot hide its queueing: no coordinated omission); at most ``max_outstanding`` flows are
in flight, beyond that a send is skipped and counted.

Latency is from the moment the trigger request is sent to the moment the receiver has read
the payload (same process, same clock). After the measured window no new flow starts and
every flow triggered (warm-up included) must be delivered within ``drain_s``: a flow that
is not is lost, and a run with a loss fails.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import aiohttp

from bench.stub import Receipts


@dataclass
class Target:
    """Where to trigger: one URL per API process (round robin) and the API key."""

    trigger_urls: list[str]
    api_key: str
    body: bytes = b"{}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}


@dataclass
class Window:
    """What happened in the measured window of one load point."""

    loop: str
    concurrency: int
    rate: float | None
    duration_s: float
    triggered: int = 0
    """Accepted triggers (HTTP 202), warm-up included."""
    delivered: int = 0
    """Of those, how many payloads reached the receiver (after the drain)."""
    lost: int = 0
    trigger_errors: int = 0
    skipped: int = 0
    completed_in_window: int = 0
    flows_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    accept_ms: dict[str, float] = field(default_factory=dict)
    """Trigger request → 202 response (the durable accept)."""
    error_samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    n = len(ordered)

    def at(q: float) -> float:
        return round(ordered[min(n - 1, int(q * n))] * 1000, 3)

    return {
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": round(ordered[-1] * 1000, 3),
        "mean": round(sum(ordered) / n * 1000, 3),
        "n": n,
    }


class LoadGenerator:
    """One per run: a client session and the receiver's ``Receipts``."""

    def __init__(self, receipts: Receipts, flow_timeout_s: float = 60.0) -> None:
        self.receipts = receipts
        self.flow_timeout_s = flow_timeout_s
        self._session: aiohttp.ClientSession | None = None
        self._rr = count()

    async def __aenter__(self) -> LoadGenerator:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=30)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=60)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def _trigger(self, target: Target, window: Window) -> str | None:
        """Send one trigger; the execution uuid, or None (counted as an error)."""
        assert self._session is not None
        url = target.trigger_urls[next(self._rr) % len(target.trigger_urls)]
        try:
            async with self._session.post(url, data=target.body, headers=target.headers()) as r:
                raw = await r.read()
                status = r.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self._error(window, f"{type(exc).__name__}: {exc}")
            return None
        if status != 202:
            self._error(window, f"HTTP {status}: {raw[:300]!r}")
            return None
        uuid: str = json.loads(raw)["uuid"]
        return uuid

    @staticmethod
    def _error(window: Window, message: str) -> None:
        window.trigger_errors += 1
        if len(window.error_samples) < 5:
            window.error_samples.append(message)

    async def closed_loop(
        self,
        target: Target,
        *,
        concurrency: int,
        duration_s: float,
        warmup_s: float = 1.0,
        drain_s: float = 30.0,
        max_flows: int | None = None,
        on_window: Callable[[str], None] | None = None,
    ) -> Window:
        """``max_flows`` bounds the run by count instead: no warm-up, the window lasts
        until that many flows were triggered and the workers are done."""
        window = Window("closed", concurrency, None, duration_s)
        flows: list[tuple[str, float, float, bool]] = []  # uuid, sent, accepted, measured
        phase = {"measuring": max_flows is not None, "stopping": False}
        issued = count()

        async def worker() -> None:
            while not phase["stopping"]:
                if max_flows is not None and next(issued) >= max_flows:
                    return
                measured = phase["measuring"]
                sent = time.perf_counter()
                uuid = await self._trigger(target, window)
                if uuid is None:
                    await asyncio.sleep(0.01)
                    continue
                flows.append((uuid, sent, time.perf_counter(), measured))
                try:
                    async with asyncio.timeout(self.flow_timeout_s):
                        await self.receipts.wait(uuid)
                except TimeoutError:
                    pass  # counted after the drain: late or lost

        if max_flows is not None:
            if on_window:
                on_window("start")
            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            end = time.perf_counter()
            window.duration_s = round(end - start, 3)
            if on_window:
                on_window("end")
            return await self._settle(window, flows, start, end + 1e-9, drain_s)
        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        await asyncio.sleep(warmup_s)
        phase["measuring"] = True
        if on_window:
            on_window("start")
        start = time.perf_counter()
        await asyncio.sleep(duration_s)
        end = time.perf_counter()
        phase["stopping"] = True
        if on_window:
            on_window("end")
        await asyncio.wait(workers, timeout=self.flow_timeout_s + 5)
        return await self._settle(window, flows, start, end, drain_s)

    async def open_loop(
        self,
        target: Target,
        *,
        rate: float,
        duration_s: float,
        warmup_s: float = 1.0,
        drain_s: float = 30.0,
        max_outstanding: int = 2000,
        on_window: Callable[[str], None] | None = None,
    ) -> Window:
        window = Window("open", 0, rate, duration_s)
        flows: list[tuple[str, float, float, bool]] = []
        outstanding: set[asyncio.Task[None]] = set()

        async def one(scheduled: float, measured: bool) -> None:
            uuid = await self._trigger(target, window)
            if uuid is None:
                return
            flows.append((uuid, scheduled, time.perf_counter(), measured))
            try:
                async with asyncio.timeout(self.flow_timeout_s):
                    await self.receipts.wait(uuid)
            except TimeoutError:
                pass

        interval = 1.0 / rate
        begin = time.perf_counter()
        start = begin + warmup_s
        end = start + duration_s
        n = 0
        signalled = False
        while True:
            now = time.perf_counter()
            if not signalled and now >= start:
                signalled = True
                if on_window:
                    on_window("start")
            if now >= end:
                break
            scheduled = begin + n * interval
            while scheduled <= now and scheduled < end:
                if len(outstanding) >= max_outstanding:
                    if scheduled >= start:
                        window.skipped += 1
                else:
                    task = asyncio.create_task(one(scheduled, scheduled >= start))
                    outstanding.add(task)
                    task.add_done_callback(outstanding.discard)
                n += 1
                scheduled = begin + n * interval
            await asyncio.sleep(max(0.0, min(scheduled, end) - time.perf_counter()))
        if on_window:
            on_window("end")
        window.concurrency = len(outstanding)
        if outstanding:
            await asyncio.wait(outstanding, timeout=self.flow_timeout_s + 5)
        return await self._settle(window, flows, start, end, drain_s)

    async def _settle(
        self,
        window: Window,
        flows: list[tuple[str, float, float, bool]],
        start: float,
        end: float,
        drain_s: float,
    ) -> Window:
        """Wait for stragglers, then count: delivered, lost, throughput, latencies.

        The wait goes on while payloads keep arriving (an overloaded system drains its
        queue), and gives up once none came for ``drain_s`` seconds (or after ten times
        that in all): what is missing then is lost."""
        arrived = self.receipts.arrived
        now = time.perf_counter()
        hard_deadline = now + drain_s * 10
        quiet_since, seen = now, len(arrived)
        while any(f[0] not in arrived for f in flows):
            now = time.perf_counter()
            if len(arrived) != seen:
                quiet_since, seen = now, len(arrived)
            if now - quiet_since > drain_s or now > hard_deadline:
                break
            await asyncio.sleep(0.05)
        window.triggered = len(flows)
        window.delivered = sum(1 for f in flows if f[0] in arrived)
        window.lost = window.triggered - window.delivered
        done = [arrived[f[0]] for f in flows if f[0] in arrived]
        window.completed_in_window = sum(1 for at in done if start <= at < end)
        window.flows_per_s = round(window.completed_in_window / (end - start), 1)
        measured = [f for f in flows if f[3] and f[0] in arrived]
        window.latency_ms = percentiles([arrived[f[0]] - f[1] for f in measured])
        window.accept_ms = percentiles([f[2] - f[1] for f in measured])
        return window
