"""The delivery log and replay, as a user of the API sees them: one vocabulary of
statuses, attempts counted across replays, held deliveries saying why, and a replay that
can never put a second attempt beside one in flight."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from flowhook.webhooks.delivery import endpoint_of
from support.app import error_code, running_api, settings_for
from support.flows import dead_url, default_webhook_and_flow, delivery_of
from support.receiver import receiver

FLOW: dict[str, Any] = {
    "name": "notify",
    "webhook_enabled": True,
    "entry": {"start": "end"},
    "widgets": {"end": {"type": "end"}},
}
FAST = {"delivery_schedule_s": [0, 0.05, 0.05, 0.05], "lease_seconds": 2.0}


async def setup(api: Any, url: str) -> tuple[str, str]:
    return await default_webhook_and_flow(api, url, FLOW, name="d")


async def run(api: Any, key: str, flow_id: str) -> str:
    status, out = await api.request(
        "POST", f"/v1/flows/{flow_id}/executions", key=key, json={"version": "test"}
    )
    assert status == 202, out
    return str(out["uuid"])


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_replay_while_an_attempt_is_in_flight_is_refused_and_sends_nothing(
    database_url: str, tmp_path: Path
) -> None:
    """Two processes share the database: the replay reaches one while the other's attempt
    is waiting for a slow receiver. Neither may start a second attempt."""
    settings = settings_for(database_url, tmp_path)
    async with (
        receiver() as slow,
        running_api(settings) as one,
        running_api(settings) as other,
    ):
        slow.hold = asyncio.Event()  # the first attempt stays in flight until released
        key, flow_id = await setup(one, slow.url)
        uuid = await run(one, key, flow_id)
        await slow.wait_for(1)  # the attempt is at the receiver, not answered yet
        _, listed = await other.request("GET", f"/v1/deliveries?execution={uuid}", key=key)
        [pending] = listed["deliveries"]
        assert pending["status"] == "PENDING"
        for api in (one, other):
            status, body = await api.request(
                "POST", f"/v1/deliveries/{pending['id']}/replay", key=key
            )
            assert status == 409, body
            assert error_code(body) == "DELIVERY_IN_FLIGHT"
            assert body["error"]["details"] == {"status": "PENDING"}
        await asyncio.sleep(0.5)  # a twin attempt, had one started, would arrive meanwhile
        slow.hold.set()
        done = await delivery_of(other, key, uuid, "SUCCEEDED")
    assert len(slow.received) == 1
    assert done["attempts_made"] == 1 and len(done["attempts"]) == 1


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_a_finished_delivery_is_replayed_once_however_many_replays_race(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path, **FAST)
    async with receiver() as rec, running_api(settings) as api:
        rec.replies = [(400, {"error": "bad"}, {})]
        key, flow_id = await setup(api, rec.url)
        uuid = await run(api, key, flow_id)
        dead = await delivery_of(api, key, uuid, "FAILED")
        rec.delay_s = 0.5  # the replayed attempt stays in flight while the others ask
        answers = await asyncio.gather(
            *(api.request("POST", f"/v1/deliveries/{dead['id']}/replay", key=key) for _ in range(5))
        )
        statuses = sorted(status for status, _ in answers)
        done = await delivery_of(api, key, uuid, "SUCCEEDED")
        await asyncio.sleep(0.3)  # a second attempt, had a replay started one, arrives meanwhile
    assert statuses == [202, 409, 409, 409, 409]
    assert {error_code(body) for status, body in answers if status == 409} == {"DELIVERY_IN_FLIGHT"}
    assert len(rec.received) == 2
    assert len({r.headers["webhook-id"] for r in rec.received}) == 1
    # the log counts every attempt, the one before the replay included
    assert done["attempts_made"] == 2
    assert [a["status_code"] for a in done["attempts"]] == [400, 200]


async def test_a_succeeded_delivery_can_be_replayed(api: Any) -> None:
    async with receiver() as rec:
        key, flow_id = await setup(api, rec.url)
        uuid = await run(api, key, flow_id)
        done = await delivery_of(api, key, uuid, "SUCCEEDED")
        status, body = await api.request("POST", f"/v1/deliveries/{done['id']}/replay", key=key)
        assert status == 202, body
        await rec.wait_for(2)
    assert [r.headers["webhook-id"] for r in rec.received] == [done["id"], done["id"]]


async def test_unknown_delivery_replay_is_404(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    status, body = await api.request("POST", "/v1/deliveries/nope/replay", key=key)
    assert status == 404 and error_code(body) == "DELIVERY_NOT_FOUND"


async def test_the_status_filter_takes_each_documented_status_and_nothing_else(api: Any) -> None:
    async with receiver() as rec:
        key, flow_id = await setup(api, rec.url)
        uuid = await run(api, key, flow_id)
        done = await delivery_of(api, key, uuid, "SUCCEEDED")
    found = {}
    for status in ("PENDING", "SUCCEEDED", "FAILED"):
        code, listed = await api.request("GET", f"/v1/deliveries?status={status}", key=key)
        assert code == 200, listed
        found[status] = [d["id"] for d in listed["deliveries"]]
    assert found == {"PENDING": [], "SUCCEEDED": [done["id"]], "FAILED": []}
    code, body = await api.request("GET", "/v1/deliveries?status=DELIVERED", key=key)
    assert code == 422 and error_code(body) == "VALIDATION_FAILED"


async def test_a_delivery_created_while_its_endpoint_is_down_says_circuit_open(
    api_with: Any,
) -> None:
    down = dead_url()
    trips = {"time_scale": 0.01, "breaker_failures": 1, "breaker_cooldown_s": 3000}
    async with api_with(**trips) as api:
        key, flow_id = await setup(api, down)
        first = await run(api, key, flow_id)
        tried = await attempted(api, key, first)
        assert tried["attempts"][0]["error_reason"] == "CONNECTION_ERROR"
        breaker = api.runtime.deliveries.breaker
        assert breaker.held_until(endpoint_of(down), time.time()) is not None
        second = await run(api, key, flow_id)  # created during the cool-down
        await api.wait_for(second, key)
        _, listed = await api.request("GET", f"/v1/deliveries?execution={second}", key=key)
        [held] = listed["deliveries"]
        _, shown = await api.request("GET", f"/v1/deliveries/{held['id']}", key=key)
    for view in (held, shown):
        assert view["status"] == "PENDING"
        assert view["last_error"] == "CIRCUIT_OPEN"
        assert view["attempts_made"] == 0
        assert view["next_attempt_at"] > time.time()
    assert shown["attempts"] == []


async def attempted(api: Any, key: str, uuid: str, timeout: float = 10) -> dict[str, Any]:
    """The execution's delivery once it has at least one attempt."""
    deadline = time.monotonic() + timeout
    while True:
        _, listed = await api.request("GET", f"/v1/deliveries?execution={uuid}", key=key)
        if listed["deliveries"] and listed["deliveries"][0]["attempts_made"]:
            _, full = await api.request(
                "GET", f"/v1/deliveries/{listed['deliveries'][0]['id']}", key=key
            )
            return dict(full)
        assert time.monotonic() < deadline, listed
        await asyncio.sleep(0.02)


def leased(conn: Any, delivery_id: str) -> bool:
    row = conn.execute(
        text("SELECT lease_owner FROM deliveries WHERE id = :id"), {"id": delivery_id}
    ).first()
    return bool(row and row[0])


async def test_a_replay_claimed_while_the_last_attempt_is_finishing_is_sent_when_it_ends(
    api_with: Any,
) -> None:
    """The replay comes between the last attempt storing its outcome and its task leaving
    the engine: the worker's claim takes the row, and sends it once that task has ended —
    not when the claim's lease runs out (an hour here)."""
    async with api_with(lease_seconds=3600) as api, receiver() as rec:
        key, flow_id = await setup(api, rec.url)
        uuid = await run(api, key, flow_id)
        done = await delivery_of(api, key, uuid, "SUCCEEDED")
        engine = api.runtime.deliveries
        finishing = asyncio.get_running_loop().create_future()

        async def last_attempt_leaving() -> None:
            await finishing

        engine.in_flight[done["id"]] = asyncio.create_task(last_attempt_leaving())
        status, body = await api.request("POST", f"/v1/deliveries/{done['id']}/replay", key=key)
        assert status == 202, body
        # the worker claims (and leases) it while the task is there, and does not send it
        while not await api.runtime.store.read(lambda c: leased(c, done["id"])):
            await asyncio.sleep(0.01)
        assert len(rec.received) == 1
        engine.in_flight.pop(done["id"])
        finishing.set_result(None)
        await rec.wait_for(2)
    assert [r.headers["webhook-id"] for r in rec.received] == [done["id"], done["id"]]
