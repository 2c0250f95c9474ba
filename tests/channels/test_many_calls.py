"""1,000 simulated calls at once through the inbound IVR: every one completes with its key
recorded, none lost. Prints calls per second and CPU seconds per call (the issue's load
figures); no time limit is asserted."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from bench.calls import DID, IVR  # the IVR `make bench-calls` rings: one flow for both

from channels.conftest import create_flow
from support.app import running_api, settings_for

pytestmark = pytest.mark.slow  # a thousand calls: about a minute on a loaded machine

CALLS = 1_000


async def test_a_thousand_concurrent_calls_all_complete(sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(sqlite_url, tmp_path, time_scale=0.1, lease_seconds=30.0)
    async with running_api(settings) as api:
        _, key = await api.account()
        await create_flow(api, key, IVR)
        gate = asyncio.Semaphore(50)

        async def ring(i: int) -> str:
            script = {"digits": [{"key": str(1 + i % 2), "after_ms": 5_000}]}
            body = {"cli": f"+91981{i:07d}", "dnis": DID, "script": script}
            async with gate:
                status, call = await api.request("POST", "/v1/sim/calls", key=key, json=body)
            assert status == 202, call
            return str(call["uuid"])

        started, cpu = time.monotonic(), time.process_time()
        uuids = await asyncio.gather(*(ring(i) for i in range(CALLS)))
        runtime = api.runtime
        deadline = time.monotonic() + 600
        while True:
            counts = await runtime.store.read(
                lambda c: c.exec_driver_sql(
                    "SELECT status, count(*) FROM executions GROUP BY status"
                ).all()
            )
            done = dict((row[0], row[1]) for row in counts)
            if done.get("COMPLETED", 0) + done.get("FAILED", 0) == CALLS:
                break
            assert time.monotonic() < deadline, done
            await asyncio.sleep(0.2)
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        rate, per_call = CALLS / elapsed, cpu / CALLS * 1000
        print(f"\n{CALLS} calls: {rate:.0f} calls/s, {per_call:.1f} ms CPU per call")
        assert done == {"COMPLETED": CALLS}
        for i, uuid in enumerate(uuids[:: CALLS // 20]):
            state = await runtime.execution(uuid)
            assert state is not None
            [leg] = state.call_legs
            assert [d["key"] for d in leg["dtmf"]] == [str(1 + (i * (CALLS // 20)) % 2)]
            assert leg["hangup_cause"] == "16"
