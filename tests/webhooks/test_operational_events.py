"""Operational events (issue 16): the account names a webhook that is told, by signed
deliveries like any other, when one of its webhooks starts failing, is disabled, recovers,
or when a delivery is dead-lettered — and never about the operational webhook itself."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection
from standardwebhooks.webhooks import Webhook
from test_flow_complete import trigger
from test_webhook_health import RETRYING, eventually, server, webhook_with_flow

from flowhook.domain.message import OutgoingRequest
from flowhook.runtime import Runtime
from flowhook.store import deliveries as delivery_repo
from flowhook.webhooks.delivery import endpoint_of
from flowhook.webhooks.health import BULK_IDS
from support.app import Api, error_code, running_api, settings_for
from support.flows import dead_url
from support.receiver import Received, Receiver, receiver


async def name_ops_webhook(api: Api, key: str, url: str) -> str:
    status, ops = await api.request(
        "POST", "/v1/webhooks", key=key, json={"name": "ops", "url": url}
    )
    assert status == 201, ops
    status, body = await api.request(
        "PUT", "/v1/account/operational-webhook", key=key, json={"webhook": "ops"}
    )
    assert status == 200 and body["webhook"]["id"] == ops["id"], body
    ops_id: str = ops["id"]
    return ops_id


async def events_at(ops: Receiver, *types: str, timeout: float = 15) -> list[dict[str, Any]]:
    """The events received, once each of ``types`` has arrived."""
    deadline = time.monotonic() + timeout
    while not set(types) <= {r.json()["type"] for r in ops.received}:
        assert time.monotonic() < deadline, [r.json() for r in ops.received]
        await asyncio.sleep(0.02)
    return [r.json() for r in ops.received]


def one(events: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    found = [e for e in events if e["type"] == event_type]
    assert len(found) == 1, events
    return found[0]


async def verified(api: Api, key: str, got: Received) -> None:
    _, secret = await api.request("GET", "/v1/account/signing-secret", key=key)
    Webhook(secret["signing_secret"]).verify(got.body, got.headers)  # raises if wrong


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_failing_then_recovered_are_signed_events_about_the_webhook(
    database_url: str, tmp_path: Path
) -> None:
    async with server(database_url, tmp_path) as api, receiver() as rec, receiver() as ops:
        rec.replies = [(503, {}, {})]
        key, hook_id, flow_id = await webhook_with_flow(api, rec.url)
        await name_ops_webhook(api, key, ops.url)
        await trigger(api, key, flow_id)
        events = await events_at(ops, "webhook.failing", "webhook.recovered")
        for got in ops.received:
            await verified(api, key, got)
    failing, recovered = one(events, "webhook.failing"), one(events, "webhook.recovered")
    assert failing["data"]["webhook_id"] == recovered["data"]["webhook_id"] == hook_id
    assert failing["data"]["status_code"] == 503
    assert failing["data"]["error_reason"] == "SERVER_ERROR"
    assert failing["timestamp"].endswith("Z")
    assert events.index(failing) < events.index(recovered)
    ids = {r.headers["webhook-id"] for r in ops.received}
    assert len(ids) == len(ops.received) == 2


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_410_gone_sends_webhook_disabled(database_url: str, tmp_path: Path) -> None:
    async with server(database_url, tmp_path) as api, receiver() as rec, receiver() as ops:
        rec.default = (410, {}, {})
        key, hook_id, flow_id = await webhook_with_flow(api, rec.url)
        await name_ops_webhook(api, key, ops.url)
        await trigger(api, key, flow_id)
        events = await events_at(ops, "webhook.disabled")
    disabled = one(events, "webhook.disabled")
    assert disabled["data"]["webhook_id"] == hook_id
    assert disabled["data"]["reason"] == "GONE" and disabled["data"]["status_code"] == 410


async def test_a_dead_letter_sends_delivery_exhausted(database_url: str, tmp_path: Path) -> None:
    async with server(database_url, tmp_path) as api, receiver() as rec, receiver() as ops:
        rec.default = (400, {"error": "bad"}, {})
        key, hook_id, flow_id = await webhook_with_flow(api, rec.url)
        await name_ops_webhook(api, key, ops.url)
        started = await trigger(api, key, flow_id)
        events = await events_at(ops, "delivery.exhausted", "webhook.failing")
        _, listed = await api.request("GET", f"/v1/deliveries?execution={started['uuid']}", key=key)
    exhausted = one(events, "delivery.exhausted")["data"]
    [dead] = listed["deliveries"]
    assert dead["status"] == "FAILED"
    assert exhausted["delivery_id"] == dead["id"]
    assert exhausted["webhook_id"] == hook_id
    assert exhausted["execution_uuid"] == started["uuid"]
    assert exhausted["status_code"] == 400 and exhausted["error_reason"] == "CLIENT_ERROR"


async def test_nothing_is_told_about_the_operational_webhook_itself(
    database_url: str, tmp_path: Path
) -> None:
    """The operational webhook fails every event until each is dead-lettered: it turns
    FAILING and its deliveries are exhausted, yet it receives only events about the other
    webhook (no event about itself, no event about an event)."""
    schedule = {"delivery_schedule_s": [0, 0.05, 0.05]}
    async with (
        server(database_url, tmp_path, **schedule) as api,
        receiver() as rec,
        receiver() as ops,
    ):
        rec.default = (400, {}, {})
        ops.default = (500, {}, {})
        key, hook_id, flow_id = await webhook_with_flow(api, rec.url)
        ops_id = await name_ops_webhook(api, key, ops.url)
        await trigger(api, key, flow_id)
        dead = await eventually(
            api,
            key,
            f"/v1/deliveries?webhook={ops_id}",
            lambda b: (
                len(b["deliveries"]) == 2 and all(d["status"] == "FAILED" for d in b["deliveries"])
            ),
        )
        _, ops_hook = await api.request("GET", f"/v1/webhooks/{ops_id}", key=key)
        _, everything = await api.request("GET", "/v1/deliveries", key=key)
    assert ops_hook["health"]["state"] == "FAILING"
    assert len(ops.received) == 6  # two events, three attempts each
    assert {r.json()["type"] for r in ops.received} == {"webhook.failing", "delivery.exhausted"}
    assert all(r.json()["data"]["webhook_id"] == hook_id for r in ops.received)
    # the flow's delivery and the two events: no third event about the dead events
    assert len(everything["deliveries"]) == 3 and len(dead["deliveries"]) == 2


async def test_the_operational_webhook_setting(database_url: str, tmp_path: Path) -> None:
    async with server(database_url, tmp_path) as api, receiver() as rec:
        key, _, _ = await webhook_with_flow(api, rec.url)
        path = "/v1/account/operational-webhook"
        assert await api.request("GET", path, key=key) == (200, {"webhook": None})
        status, body = await api.request("PUT", path, key=key, json={"webhook": "nope"})
        assert status == 404 and error_code(body) == "WEBHOOK_NOT_FOUND"
        status, body = await api.request("PUT", path, key=key, json={"webhook": 42})
        assert status == 422 and error_code(body) == "VALIDATION_FAILED"
        ops_id = await name_ops_webhook(api, key, rec.url)
        status, body = await api.request("DELETE", f"/v1/webhooks/{ops_id}", key=key)
        assert status == 409 and error_code(body) == "WEBHOOK_IN_USE"
        assert body["error"]["details"]["operational"] is True
        status, body = await api.request("PUT", path, key=key, json={"webhook": None})
        assert (status, body) == (200, {"webhook": None})
        status, _ = await api.request("DELETE", f"/v1/webhooks/{ops_id}", key=key)
    assert status == 204


@asynccontextmanager
async def two_workers(postgres_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """A server with its worker and a second worker process's runtime, on one database."""
    config = settings_for(postgres_url, tmp_path, **RETRYING)
    async with running_api(config) as api:
        other = Runtime.build(config, migrate=False)
        await other.start(worker=True)
        try:
            yield api
        finally:
            await other.stop()


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_with_two_workers_failing_at_once_the_webhook_is_failing_once(
    postgres_url: str, tmp_path: Path
) -> None:
    async with two_workers(postgres_url, tmp_path) as api, receiver() as rec, receiver() as ops:
        rec.default = (503, {}, {})
        key, hook_id, flow_id = await webhook_with_flow(api, rec.url)
        await name_ops_webhook(api, key, ops.url)
        await asyncio.gather(*(trigger(api, key, flow_id) for _ in range(20)))
        await rec.wait_for(100)  # every delivery failed, several times, on both workers
        failing = await events_at(ops, "webhook.failing")
        rec.default = (200, {}, {})  # the first success recovers it, whichever worker sends
        recovered = await events_at(ops, "webhook.recovered")
    assert len(failing) == 1 and failing[0]["data"]["webhook_id"] == hook_id
    assert recovered[1]["type"] == "webhook.recovered"


async def test_deliveries_dead_lettered_in_bulk_are_told_in_bounded_events(
    database_url: str, tmp_path: Path
) -> None:
    """A webhook's endpoint is down: its circuit opens and its deliveries older than the
    whole retry schedule are dead-lettered together (``CIRCUIT_OPEN``). Each is told in a
    ``delivery.exhausted`` event listing at most ``BULK_IDS`` ids: 150 make two events."""
    trips = {
        "time_scale": 0.01,
        "breaker_failures": 3,
        "breaker_cooldown_s": 6000,
        "delivery_schedule_s": [0, 60, 300, 3600],
        "delivery_endpoint_concurrency": 2,  # a claim takes 4 of the endpoint: young ones
    }
    async with server(database_url, tmp_path, **trips) as api, receiver() as ops:
        down = dead_url()
        account_id, key = await api.account(http_enabled=True)
        status, hook = await api.request(
            "POST", "/v1/webhooks", key=key, json={"name": "crm", "url": down}
        )
        assert status == 201, hook
        hook_id = hook["id"]
        await name_ops_webhook(api, key, ops.url)
        span = api.settings.scaled(sum(api.settings.delivery_schedule_s))
        now = time.time()

        def rows(count: int, age_s: float, due_in: float) -> list[dict[str, Any]]:
            return [
                {
                    "delivery_id": str(uuid.uuid4()),
                    "account_id": account_id,
                    "execution_uuid": None,
                    "webhook_id": hook_id,
                    "endpoint": endpoint_of(down),
                    "request": OutgoingRequest("POST", down, {}, b"{}"),
                    "secret_headers": None,
                    "due_at": now + due_in,
                    "lease_owner": None,
                    "lease_until": None,
                    "now": now - age_s,
                }
                for _ in range(count)
            ]

        # the young ones are due first: they take the attempts that open the circuit
        young, old = rows(8, 0, -10), rows(150, span + 60, 0)

        def write(conn: Connection) -> None:
            for row in young + old:
                delivery_repo.insert(conn, **row)

        await api.runtime.store.write(write)
        api.runtime.deliveries.nudge()
        deadline = time.monotonic() + 30
        while True:
            told = [e for e in await events_at(ops) if e["type"] == "delivery.exhausted"]
            if sum(e["data"]["count"] for e in told) >= len(old):
                break
            assert time.monotonic() < deadline, told
            await asyncio.sleep(0.05)
        for got in ops.received:
            await verified(api, key, got)

    assert sorted(len(e["data"]["delivery_ids"]) for e in told) == [50, BULK_IDS]
    listed = [i for e in told for i in e["data"]["delivery_ids"]]
    assert sorted(listed) == sorted(row["delivery_id"] for row in old)  # each once, all
    for event in told:
        assert event["data"]["webhook_id"] == hook_id
        assert event["data"]["error_reason"] == "CIRCUIT_OPEN"
        assert event["data"]["count"] == len(event["data"]["delivery_ids"])
