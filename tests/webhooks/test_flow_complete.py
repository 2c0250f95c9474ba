"""The flow-complete webhook: one signed delivery per finished execution, retried on the
documented schedule, logged attempt by attempt, dead-lettered and replayable."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from support.flows import default_webhook_and_flow, delivery_of
from support.receiver import receiver

FLOW: dict[str, Any] = {
    "name": "notify",
    "type": "outbound",
    "webhook_enabled": True,
    "entry": {"start": "set"},
    "widgets": {
        "set": {
            "type": "store_variable",
            "assignments": [
                {"variable": "$flow.key.customer", "value": "Asha"},
                {"variable": "$flow.key.score", "value": 42},
                {"variable": "$user.key.lang", "value": "hi"},
            ],
            "next": "end",
        },
        "end": {"type": "end"},
    },
}

FAST: dict[str, Any] = {"delivery_schedule_s": [0, 0.05, 0.05, 0.05], "lease_seconds": 2.0}


async def setup(api: Any, url: str, flow: dict[str, Any] = FLOW, **hook: Any) -> tuple[str, str]:
    return await default_webhook_and_flow(api, url, flow, **hook)


async def trigger(api: Any, key: str, flow_id: str, **body: Any) -> dict[str, Any]:
    status, out = await api.request(
        "POST", f"/v1/flows/{flow_id}/executions", key=key, json={"version": "test", **body}
    )
    assert status == 202, out
    return dict(out)


async def test_default_payload_field_by_field_and_signed(api: Any) -> None:
    async with receiver() as rec:
        key, flow_id = await setup(api, rec.url)
        started = await trigger(api, key, flow_id, dnis="9879964805", cli="912243692987")
        got = (await rec.wait_for(1))[0]
    _, secret = await api.request("GET", "/v1/account/signing-secret", key=key)
    Webhook(secret["signing_secret"]).verify(got.body, got.headers)  # raises if wrong
    body = got.json()
    assert body["phonon-uuid"] == started["uuid"]
    assert body["request-id"] == started["request_id"]
    assert body["flow-id"] == flow_id and body["flow-name"] == "notify"
    assert body["flowStatus"] == "COMPLETED"
    assert body["startTime"] and body["endTime"]
    assert {"name": "$flow.key.customer", "value": "Asha"} in body["keys"]
    assert {"name": "$flow.key.score", "value": 42} in body["keys"]
    assert all(k["name"].startswith("$flow.key.") for k in body["keys"])
    assert "test" not in body
    assert got.headers["webhook-id"]
    assert got.headers["Content-Type"] == "application/json"


async def test_no_delivery_when_the_flow_has_webhooks_off(api: Any) -> None:
    async with receiver() as rec:
        key, flow_id = await setup(api, rec.url, {**FLOW, "webhook_enabled": False})
        started = await trigger(api, key, flow_id)
        await api.wait_for(started["uuid"], key)
        await asyncio.sleep(0.2)  # what is tested is that nothing comes: no event to await
    assert rec.received == []
    _, listed = await api.request("GET", f"/v1/deliveries?execution={started['uuid']}", key=key)
    assert listed["deliveries"] == []


async def test_failed_executions_are_delivered_too(api: Any) -> None:
    failing = {
        **FLOW,
        "widgets": {
            "set": {
                "type": "operation",
                "operation": "divide",
                "left": "1",
                "right": "0",
                "target": "$flow.key.x",
            },
        },
    }
    async with receiver() as rec:
        key, flow_id = await setup(api, rec.url, failing)
        await trigger(api, key, flow_id)
        got = (await rec.wait_for(1))[0]
    assert got.json()["flowStatus"] == "FAILED"
    assert got.json()["errorReason"] == "DIVISION_BY_ZERO"


async def test_custom_body_renders_the_execution_variables(api: Any) -> None:
    async with receiver() as rec:
        key, flow_id = await setup(
            api,
            rec.url,
            body_type="JSON",
            body={"who": "$flow.key.customer", "uuid": "$flow.syskey.phonon_uuid"},
        )
        started = await trigger(api, key, flow_id)
        got = (await rec.wait_for(1))[0]
    assert got.json() == {"who": "Asha", "uuid": started["uuid"]}


@pytest.mark.slow
async def test_retries_until_success_with_a_stable_webhook_id(api_with: Any) -> None:
    async with api_with(**FAST) as api, receiver() as rec:
        rec.replies = [(503, {}, {}), (500, {}, {}), (408, {}, {})]
        key, flow_id = await setup(api, rec.url)
        started = await trigger(api, key, flow_id)
        delivery = await delivery_of(api, key, started["uuid"], "SUCCEEDED")
    assert len(rec.received) == 4
    assert len({r.headers["webhook-id"] for r in rec.received}) == 1
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 500, 408, 200]
    assert delivery["attempts"][0]["error_reason"] == "SERVER_ERROR"
    # a signature is a credential like the others: logged as *** (issue 12.3)
    assert delivery["attempts"][0]["request_headers"]["webhook-signature"] == "***"
    assert delivery["attempts"][0]["request_headers"]["webhook-timestamp"].isdigit()


@pytest.mark.slow
async def test_retry_after_is_honoured(api_with: Any) -> None:
    async with api_with(**FAST) as api, receiver() as rec:
        rec.replies = [(429, {}, {"Retry-After": "1"})]
        key, flow_id = await setup(api, rec.url)
        started = await trigger(api, key, flow_id)
        delivery = await delivery_of(api, key, started["uuid"], "SUCCEEDED", timeout=10)
    assert len(rec.received) == 2
    gap = delivery["attempts"][1]["at"] - delivery["attempts"][0]["at"]
    assert gap >= 0.9, gap


async def test_client_errors_dead_letter_at_once_and_replay_delivers(api_with: Any) -> None:
    async with api_with(**FAST) as api, receiver() as rec:
        rec.replies = [(400, {"error": "bad"}, {})]
        key, flow_id = await setup(api, rec.url)
        started = await trigger(api, key, flow_id)
        dead = await delivery_of(api, key, started["uuid"], "FAILED")
        assert len(dead["attempts"]) == 1 and dead["last_status_code"] == 400
        _, failed = await api.request("GET", "/v1/deliveries?status=FAILED", key=key)
        assert [d["id"] for d in failed["deliveries"]] == [dead["id"]]
        status, _ = await api.request("POST", f"/v1/deliveries/{dead['id']}/replay", key=key)
        assert status == 202
        done = await delivery_of(api, key, started["uuid"], "SUCCEEDED")
    assert [r.headers["webhook-id"] for r in rec.received] == [dead["id"], dead["id"]]
    assert len(done["attempts"]) == 2


async def test_exhausted_schedule_dead_letters(api_with: Any) -> None:
    async with api_with(**FAST) as api, receiver() as rec:
        rec.default = (500, {}, {})
        key, flow_id = await setup(api, rec.url)
        started = await trigger(api, key, flow_id)
        dead = await delivery_of(api, key, started["uuid"], "FAILED")
    assert len(dead["attempts"]) == len(FAST["delivery_schedule_s"])
    assert dead["next_attempt_at"] is None


async def test_deliveries_are_private_and_filterable(api: Any) -> None:
    async with receiver() as rec:
        key, flow_id = await setup(api, rec.url)
        started = await trigger(api, key, flow_id)
        delivery = await delivery_of(api, key, started["uuid"], "SUCCEEDED")
    _, other = await api.account("other")
    status, _ = await api.request("GET", f"/v1/deliveries/{delivery['id']}", key=other)
    assert status == 404
    status, _ = await api.request("POST", f"/v1/deliveries/{delivery['id']}/replay", key=other)
    assert status == 404
    _, listed = await api.request(
        "GET", f"/v1/deliveries?webhook={delivery['webhook_id']}", key=key
    )
    assert [d["id"] for d in listed["deliveries"]] == [delivery["id"]]
    status, text = await api.request("GET", "/metrics")
    assert status == 200 and "flowhook_deliveries_total" in text
    assert "flowhook_deliveries_pending 0.0" in text


async def test_metrics_count_the_delivery_in_flight_while_the_receiver_holds_it(
    api: Any,
) -> None:
    """``flowhook_deliveries_in_flight`` is read from the engines' own counts at a scrape:
    1 while the receiver holds the request, 0 once it answered."""
    async with receiver() as rec:
        rec.hold = asyncio.Event()
        key, flow_id = await setup(api, rec.url)
        started = await trigger(api, key, flow_id)
        await rec.wait_for(1)
        _, during = await api.request("GET", "/metrics")
        rec.hold.set()
        await delivery_of(api, key, started["uuid"], "SUCCEEDED")
        _, after = await api.request("GET", "/metrics")
    assert "\nflowhook_deliveries_in_flight 1.0\n" in during
    assert "\nflowhook_deliveries_in_flight 0.0\n" in after


async def test_a_send_longer_than_the_lease_is_not_sent_twice(api_with: Any) -> None:
    """The flow-complete delivery is sent from the finishing execution's task: its lease is
    renewed while the receiver holds the request, so the claim loop never takes it over."""
    async with api_with(lease_seconds=0.6, poll_interval_s=0.05) as api, receiver() as rec:
        rec.hold = asyncio.Event()
        key, flow_id = await setup(api, rec.url)
        started = await trigger(api, key, flow_id)
        await rec.wait_for(1)
        await asyncio.sleep(2.0)  # three leases: a second send would be claimed and sent
        assert len(rec.received) == 1
        rec.hold.set()
        delivery = await delivery_of(api, key, started["uuid"], "SUCCEEDED")
    assert len(rec.received) == 1
    assert [a["status_code"] for a in delivery["attempts"]] == [200]
