"""Durability with real processes: SIGKILL the server (or one of two workers) in the middle
of executions, start again, and every execution completes exactly along its path.

Each flow calls a slow local receiver mid-way, so a killed process dies holding leases on
executions in flight. The receiver records every call: a call may be replayed after a
crash (at least once, from the last checkpoint), but never by two live processes at once.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import create_engine, text

from support.process import Process, create_account, flowhook_env, free_port

pytestmark = pytest.mark.slow  # SIGKILLs real server and worker processes

COUNT = 50
CALL_SECONDS = 2.0


def append(letter: str, next_: str) -> dict[str, Any]:
    """A step that appends its letter to ``$flow.key.trail``: a step run twice shows."""
    return {
        "type": "operation",
        "operation": "concatenate",
        "values": ["$flow.key.trail", letter],
        "target": "$flow.key.trail",
        "next": next_,
    }


def call(port: int, next_: str) -> dict[str, Any]:
    return {
        "type": "webhook",
        "request": {
            "method": "POST",
            "url": f"http://127.0.0.1:{port}/slow",
            "body_type": "JSON",
            "body": {"uuid": "$flow.syskey.phonon_uuid"},
            "timeout_s": 10,
        },
        "exits": {"0": next_},
    }


def flow(port: int) -> dict[str, Any]:
    """a → call (slow) → wait 2 s → b → end: both stores, one side effect, one delay."""
    return {
        "name": "crash_test",
        "entry": {"start": "a"},
        "widgets": {
            "a": append("a", "call"),
            "call": call(port, "wait"),
            "wait": {"type": "delay", "seconds": 2, "next": "b"},
            "b": append("b", "end"),
            "end": {"type": "end"},
        },
    }


PATH = ["a", "call", "wait", "b", "end"]


@dataclass
class Receiver:
    """The slow API the flow calls: answers after CALL_SECONDS, notes when each call began."""

    calls: dict[str, list[float]] = field(default_factory=dict)
    port: int = 0

    def in_flight(self) -> int:
        now = time.monotonic()
        return sum(1 for starts in self.calls.values() for s in starts if now - s < CALL_SECONDS)

    def total(self) -> int:
        return sum(len(starts) for starts in self.calls.values())

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.setdefault(body["uuid"], []).append(time.monotonic())
        await asyncio.sleep(CALL_SECONDS)
        return web.json_response({"ok": True})


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    recorder = Receiver(port=free_port())
    app = web.Application()
    app.router.add_post("/slow", recorder.handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", recorder.port).start()
    try:
        yield recorder
    finally:
        await runner.cleanup()


def count_status(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT status, count(*) FROM executions GROUP BY status"))
            return {row[0]: int(row[1]) for row in rows}
    finally:
        engine.dispose()


async def wait_until(
    condition: Callable[[], bool], timeout: float, explain: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, explain()
        await asyncio.sleep(0.05)


@asynccontextmanager
async def client(port: int, api_key: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {api_key}"}
    ) as http:
        yield http


async def trigger_all(http: aiohttp.ClientSession, doc: dict[str, Any]) -> list[str]:
    async with http.post("/v1/flows", json=doc) as resp:
        assert resp.status == 201, await resp.text()
        flow_id = (await resp.json())["flow_id"]

    async def trigger(i: int) -> str:
        async with http.post(
            f"/v1/flows/{flow_id}/executions",
            json={"version": "test", "variables": {"$flow.key.i": i, "$flow.key.trail": ""}},
        ) as resp:
            assert resp.status == 202, await resp.text()
            return str((await resp.json())["uuid"])

    return list(await asyncio.gather(*(trigger(i) for i in range(COUNT))))


async def fetch_all(http: aiohttp.ClientSession, uuids: list[str]) -> list[dict[str, Any]]:
    async def one(uuid: str) -> dict[str, Any]:
        async with http.get(f"/v1/executions/{uuid}") as resp:
            assert resp.status == 200, await resp.text()
            return dict(await resp.json())

    return list(await asyncio.gather(*(one(uuid) for uuid in uuids)))


def assert_completed_exactly_along_the_path(executions: list[dict[str, Any]]) -> None:
    for i, execution in enumerate(executions):
        assert execution["status"] == "COMPLETED", execution
        assert execution["variables"]["$flow.key.i"] == i
        assert execution["variables"]["$flow.key.trail"] == "ab", execution
        assert [s["widget"] for s in execution["steps"]] == PATH, execution["steps"]
        assert execution["step_count"] == len(PATH)


KILL_GRACE = 0.3
"""A call the receiver saw within this long after a kill may still come from the killed
process; a replay by a live one only starts once the dead one's lease (1 s) ran out."""


def assert_calls_replayed_only_across_kills(
    calls: dict[str, list[float]], uuids: list[str], kills: list[float]
) -> int:
    """Every execution called once, or again after a kill that interrupted its first call;
    never twice by live processes. Returns how many calls were replayed."""
    assert set(calls) == set(uuids)
    replayed = 0
    for uuid, starts in calls.items():
        for first, again in itertools.pairwise(starts):
            # the earlier call was cut off by a kill that happened before the replay began
            assert any(first < k + KILL_GRACE < again for k in kills), (uuid, starts, kills)
            replayed += 1
        assert len(starts) <= 1 + len(kills), (uuid, starts)
    return replayed


async def test_sigkill_of_the_server_loses_no_execution(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path}/crash.db"
    env = flowhook_env(db_url, tmp_path, port=free_port())
    account = create_account(env)
    kills: list[float] = []

    async def serve(log: str) -> tuple[Process, int]:
        env["FLOWHOOK_PORT"] = port = str(free_port())
        process = Process(["serve"], env, tmp_path / log)
        await process.listening(int(port))
        return process, int(port)

    async with receiver() as api:
        # 1. kill while every execution is in the middle of its call (leased, running)
        server, port = await serve("serve1.log")
        try:
            async with client(port, account["api_key"]) as http:
                uuids = await trigger_all(http, flow(api.port))
            await wait_until(
                lambda: api.total() == COUNT, 30, lambda: f"{api.calls}\n{server.output()}"
            )
        finally:
            kills.append(time.monotonic())
            server.kill()
        # nothing was checkpointed since the accepted trigger: the rows are as accepted
        assert count_status(db_url) == {"PENDING": COUNT}

        # 2. restart: leases expire, calls are replayed; kill again mid-delay (WAITING)
        server, port = await serve("serve2.log")
        try:
            await wait_until(
                lambda: count_status(db_url).get("WAITING") == COUNT,
                30,
                lambda: f"{count_status(db_url)}\n{server.output()}",
            )
        finally:
            kills.append(time.monotonic())
            server.kill()

        # 3. restart: every execution wakes from its delay and completes
        server, port = await serve("serve3.log")
        try:
            await wait_until(
                lambda: count_status(db_url).get("COMPLETED") == COUNT,
                30,
                lambda: f"{count_status(db_url)}\n{server.output()}",
            )
            async with client(port, account["api_key"]) as http:
                executions = await fetch_all(http, uuids)
        finally:
            server.stop()

    assert_completed_exactly_along_the_path(executions)
    assert assert_calls_replayed_only_across_kills(api.calls, uuids, kills) == COUNT


def leases_by_pid(db_url: str) -> dict[int, int]:
    """How many executions each worker process holds now (a lease owner is host:pid:…)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            owners = conn.execute(
                text("SELECT lease_owner FROM executions WHERE lease_owner IS NOT NULL")
            ).scalars()
            held: dict[int, int] = {}
            for owner in owners:
                pid = int(owner.split(":")[1])
                held[pid] = held.get(pid, 0) + 1
            return held
    finally:
        engine.dispose()


async def test_two_workers_on_postgres_survive_the_sigkill_of_one(
    postgres_url: str, tmp_path: Path
) -> None:
    port = free_port()
    # small claims, so that both workers take a share of the executions
    env = flowhook_env(postgres_url, tmp_path, port=port, claim_batch=5)
    account = create_account(env)
    api_process = Process(["serve", "--no-worker"], env, tmp_path / "api.log")
    workers = [Process(["worker"], env, tmp_path / f"worker{i}.log") for i in range(2)]
    processes = [api_process, *workers]

    def explain() -> str:
        logs = "\n---\n".join(p.output() for p in processes)
        return f"{count_status(postgres_url)} {leases_by_pid(postgres_url)}\n{logs}"

    async with receiver() as api:
        try:
            await api_process.listening(port)
            await wait_until(lambda: all("started" in w.output() for w in workers), 30, explain)
            async with client(port, account["api_key"]) as http:
                uuids = await trigger_all(http, flow(api.port))
                # mid-run: kill the worker that holds the most executions (in their call);
                # blocking work runs in threads, so the receiver notes call times on time
                await wait_until(lambda: api.total() >= COUNT // 2, 30, explain)
                held = await asyncio.to_thread(leases_by_pid, postgres_url)
                victim = max(workers, key=lambda w: held.get(w.proc.pid, 0))
                assert held.get(victim.proc.pid, 0) > 0, (held, explain())
                kills = [time.monotonic()]
                await asyncio.to_thread(victim.kill)
                await wait_until(
                    lambda: count_status(postgres_url).get("COMPLETED") == COUNT, 60, explain
                )
                executions = await fetch_all(http, uuids)
        finally:
            for process in processes:
                process.stop()

    # the other worker shuts down cleanly on SIGTERM
    assert [w.proc.returncode for w in workers if w is not victim] == [0], explain()
    # the executions the dead worker held were taken over and completed, each exactly once
    assert_completed_exactly_along_the_path(executions)
    assert_calls_replayed_only_across_kills(api.calls, uuids, kills)
