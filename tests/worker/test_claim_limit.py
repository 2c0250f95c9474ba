"""The poison-pill limit: an execution whose runs crash (or hang) every worker that takes it
is claimed again each time the dead worker's lease runs out. Past
``execution_max_claims`` claims without progress the runner stops running it and fails it
with ``WORKER_CRASHED``, completion hooks included. Progress (a checkpoint, a durable wait,
the end) sets the count back to 0, so a long wait that wakes many times never trips it.

A crash is simulated here the way a dead worker leaves the row: claimed under another
owner id, then left alone until its lease runs out (on the test's clock).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from flowhook.store import executions as execution_repo
from flowhook.store.tables import executions
from support.app import Api, running_api, settings_for
from support.receiver import receiver

MAX_CLAIMS = 2
LEASE = 30.0

FLOW: dict[str, Any] = {
    "name": "notify",
    "webhook_enabled": True,
    "entry": {"start": "set"},
    "widgets": {
        "set": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.customer", "value": "Asha"}],
            "next": "end",
        },
        "end": {"type": "end"},
    },
}


class Clock:
    """The runner's clock, moved by the test: leases run out without waiting for them."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def setup(api: Api, hook_url: str) -> tuple[str, str]:
    """An account with a default webhook and a flow-complete flow: (api key, flow id)."""
    _, key = await api.account(http_enabled=True)
    status, body = await api.request(
        "POST",
        "/v1/webhooks",
        key=key,
        json={"name": "default", "url": hook_url, "is_default": True},
    )
    assert status == 201, body
    status, body = await api.request("POST", "/v1/flows", key=key, json=FLOW)
    assert status == 201, body
    return key, body["flow_id"]


async def trigger(api: Api, key: str, flow_id: str) -> str:
    status, body = await api.request(
        "POST", f"/v1/flows/{flow_id}/executions", key=key, json={"version": "test"}
    )
    assert status == 202, body
    return str(body["uuid"])


async def crash(api: Api, clock: Clock, times: int) -> None:
    """Workers that claim the due execution and die with it: each lease simply runs out."""
    for i in range(times):
        now = clock()
        claimed = await api.runtime.store.write(
            functools.partial(
                execution_repo.claim_due,
                owner=f"crashed-worker-{i}",
                now=now,
                lease_until=now + LEASE,
                limit=10,
            )
        )
        assert [claims for _, claims in claimed] == [i + 1]
        clock.now += LEASE + 1


async def stored_claims(api: Api, uuid: str) -> int:
    query = select(executions.c.claims).where(executions.c.uuid == uuid)
    return int(await api.runtime.store.read(lambda c: c.execute(query).scalar_one()))


async def test_an_execution_claimed_past_the_limit_fails_as_worker_crashed(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path, execution_max_claims=MAX_CLAIMS)
    # an API-only process: this test's claims are the only ones
    async with receiver() as hook, running_api(settings, worker=False) as api:
        clock = Clock()
        api.runtime.services.clock = clock
        key, flow_id = await setup(api, hook.url)
        uuid = await trigger(api, key, flow_id)
        await crash(api, clock, MAX_CLAIMS)

        runner = api.runtime.runner
        assert await runner.claim_once() == 1  # claim MAX_CLAIMS + 1: not run again
        await runner.wait_idle()
        status, execution = await api.request("GET", f"/v1/executions/{uuid}", key=key)
        assert status == 200, execution
        [payload] = await hook.wait_for(1)
        _, listed = await api.request("GET", f"/v1/deliveries?execution={uuid}", key=key)
        claims_left = await stored_claims(api, uuid)

    assert execution["status"] == "FAILED"
    assert execution["error_reason"] == "WORKER_CRASHED"
    assert execution["error_message"] == (
        f"the execution was claimed {MAX_CLAIMS + 1} times without progress: "
        "a worker crashed or hung while running it"
    )
    assert execution["steps"] == []  # no widget ran again
    assert claims_left == 0
    # the completion hooks ran: the flow-complete delivery was stored and sent
    assert len(listed["deliveries"]) == 1
    assert payload.json()["phonon-uuid"] == uuid
    assert payload.json()["flowStatus"] == "FAILED"
    assert payload.json()["errorReason"] == "WORKER_CRASHED"


async def test_an_execution_claimed_up_to_the_limit_still_runs(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = settings_for(sqlite_url, tmp_path, execution_max_claims=MAX_CLAIMS)
    async with receiver() as hook, running_api(settings, worker=False) as api:
        clock = Clock()
        api.runtime.services.clock = clock
        key, flow_id = await setup(api, hook.url)
        uuid = await trigger(api, key, flow_id)
        await crash(api, clock, MAX_CLAIMS - 1)

        runner = api.runtime.runner
        assert await runner.claim_once() == 1  # claim MAX_CLAIMS: run as usual
        await runner.wait_idle()
        _, execution = await api.request("GET", f"/v1/executions/{uuid}", key=key)
        [payload] = await hook.wait_for(1)

    assert execution["status"] == "COMPLETED", execution
    assert [s["widget"] for s in execution["steps"]] == ["set", "end"]
    assert payload.json()["flowStatus"] == "COMPLETED"


async def test_a_delay_that_wakes_more_often_than_the_limit_is_not_failed(
    sqlite_url: str, tmp_path: Path
) -> None:
    # every wake is a claim; the save at each wait starts the count again
    settings = settings_for(sqlite_url, tmp_path, execution_max_claims=1, time_scale=0.02)
    doc = {
        "name": "four_waits",
        "entry": {"start": "wait"},
        "widgets": {
            "wait": {"type": "delay", "seconds": 1, "next": "count"},
            "count": {"type": "counter", "limit": 3, "exits": {"under": "wait", "over": "end"}},
            "end": {"type": "end"},
        },
    }
    async with running_api(settings) as api:
        _, key = await api.account()
        status, created = await api.request("POST", "/v1/flows", key=key, json=doc)
        assert status == 201, created
        uuid = await trigger(api, key, created["flow_id"])
        execution = await api.wait_for(uuid, key)
        claims_left = await stored_claims(api, uuid)

    assert execution["status"] == "COMPLETED", execution
    assert [s["widget"] for s in execution["steps"]].count("wait") == 4  # four wakes
    assert claims_left == 0
