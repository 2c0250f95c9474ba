"""Operational events (issue 16): the account names a webhook that is told, by signed
deliveries like any other, when one of its webhooks starts failing, is disabled, recovers,
or when a delivery is dead-lettered — and never about the operational webhook itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook
from test_flow_complete import trigger
from test_webhook_health import RETRYING, eventually, server, webhook_with_flow

from flowhook.runtime import Runtime
from support.app import Api, error_code, running_api, settings_for
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
