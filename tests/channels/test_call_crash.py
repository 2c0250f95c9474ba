"""Durability of calls: SIGKILL the server while calls wait in a menu or ring, start it
again on the same database, and every execution ends along its path — keys scripted for
the time the server was down, keys posted after the restart and ringing that ended while
nobody was running are all picked up, each key recorded once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import create_engine, text

from support.process import Process, create_account, flowhook_env, free_port

pytestmark = pytest.mark.slow  # SIGKILLs a real server process

CALLS = 10
DID = "+912240001234"
KEY_AFTER_MS = 8_000  # scripted keys come after the kill, while the server is down

IVR: dict[str, Any] = {
    "name": "crash_ivr",
    "type": "inbound",
    "dids": [DID],
    "entry": {"start": "answer"},
    "widgets": {
        "answer": {"type": "answer_call", "next": "menu"},
        "menu": {
            "type": "menu",
            "text": "Press 1 or 2",
            "options": {"1": "one", "2": "two"},
            "timeout_s": 600,
            "exits": {"1": "one", "2": "two"},
        },
        "one": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.choice", "value": "one"}],
            "next": "bye",
        },
        "two": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.choice", "value": "two"}],
            "next": "bye",
        },
        "bye": {"type": "hangup"},
    },
}

DIALLER: dict[str, Any] = {
    "name": "crash_dial",
    "entry": {"start": "dial"},
    "widgets": {
        "dial": {"type": "make_call", "exits": {"answered": "bye"}},
        "bye": {"type": "hangup"},
    },
}


@asynccontextmanager
async def client(port: int, api_key: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {api_key}"}
    ) as http:
        yield http


async def wait_until(
    condition: Callable[[], bool], timeout: float, explain: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, explain()
        await asyncio.sleep(0.05)


def statuses(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT status, count(*) FROM executions GROUP BY status"))
            return {row[0]: int(row[1]) for row in rows}
    finally:
        engine.dispose()


async def test_sigkill_mid_call_loses_no_call(database_url: str, tmp_path: Path) -> None:
    env = flowhook_env(database_url, tmp_path)
    account = create_account(env)

    async def serve(log: str) -> tuple[Process, int]:
        env["FLOWHOOK_PORT"] = port = str(free_port())
        process = Process(["serve"], env, tmp_path / log)
        await process.listening(int(port))
        return process, int(port)

    server, port = await serve("serve1.log")
    try:
        async with client(port, account["api_key"]) as http:
            script = {"answer_after_ms": KEY_AFTER_MS}
            calls = {"919876500001": script}
            settings = {"channels": {"simulator": {"calls": calls}}}
            async with http.put("/v1/account/settings", json=settings) as resp:
                assert resp.status == 200, await resp.text()
            for doc in (IVR, DIALLER):
                async with http.post("/v1/flows", json=doc) as resp:
                    assert resp.status == 201, await resp.text()
                    if doc is DIALLER:
                        dialler = (await resp.json())["flow_id"]

            async def ring(i: int) -> dict[str, Any]:
                digits = [{"key": "2", "after_ms": KEY_AFTER_MS}] if i % 2 else []
                body = {"cli": f"+9198123450{i:02d}", "dnis": DID, "script": {"digits": digits}}
                async with http.post("/v1/sim/calls", json=body) as resp:
                    assert resp.status == 202, await resp.text()
                    return dict(await resp.json())

            calls_in = list(await asyncio.gather(*(ring(i) for i in range(CALLS))))
            body = {"version": "test", "dnis": "9876500001", "cli": DID}
            async with http.post(f"/v1/flows/{dialler}/executions", json=body) as resp:
                assert resp.status == 202, await resp.text()
                outbound = (await resp.json())["uuid"]
        await wait_until(
            lambda: statuses(database_url).get("WAITING") == CALLS + 1,
            30,
            lambda: f"{statuses(database_url)}\n{server.output()}",
        )
    finally:
        server.kill()
    # nothing was answered or pressed before the kill: every call waits in the store
    assert statuses(database_url) == {"WAITING": CALLS + 1}

    server, port = await serve("serve2.log")
    try:
        async with client(port, account["api_key"]) as http:
            for call in calls_in[::2]:  # the callers without a script press 1 now
                url = f"/v1/sim/calls/{call['call_id']}/dtmf"
                async with http.post(url, json={"digits": "1"}) as resp:
                    assert resp.status == 202, await resp.text()
            await wait_until(
                lambda: statuses(database_url).get("COMPLETED") == CALLS + 1,
                60,
                lambda: f"{statuses(database_url)}\n{server.output()}",
            )
            executions = []
            for uuid in [c["uuid"] for c in calls_in] + [outbound]:
                async with http.get(f"/v1/executions/{uuid}") as resp:
                    executions.append(await resp.json())
    finally:
        server.stop()

    for i, execution in enumerate(executions[:CALLS]):
        want = "two" if i % 2 else "one"
        assert execution["variables"]["$flow.key.choice"] == want, execution
        [leg] = execution["call_details"]
        assert [d["key"] for d in leg["dtmf"]] == ["2" if i % 2 else "1"]
        assert leg["hangup_cause"] == "16" and leg["remote_hangup"] is False
        assert [s["widget"] for s in execution["steps"]][-3:] == ["menu", want, "bye"]
    dialled = executions[CALLS]
    [leg] = dialled["call_details"]
    assert leg["connect"] and leg["hangup_cause"] == "16", dialled
