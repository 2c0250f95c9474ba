"""Fixing a webhook fixes its deliveries (issue 13.2): a delivery of a saved webhook goes
where the webhook points at each attempt — a replay or a retry after ``PUT
/v1/webhooks/{id}`` reaches the new receiver with the same ``webhook-id`` — and each
attempt records where it went. A delivery to a custom URL keeps its own target; one whose
webhook was deleted fails visibly with ``WEBHOOK_NOT_FOUND``."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from test_flow_complete import FAST, setup, trigger

from support.flows import delivery_of
from support.receiver import receiver


async def put_webhook(api: Any, key: str, **fields: Any) -> None:
    _, listed = await api.request("GET", "/v1/webhooks", key=key)
    (hook,) = listed["webhooks"]
    status, body = await api.request(
        "PUT",
        f"/v1/webhooks/{hook['id']}",
        key=key,
        json={"name": hook["name"], "is_default": True, **fields},
    )
    assert status == 200, body


async def test_a_dead_letter_replayed_after_fixing_the_webhook_reaches_the_new_receiver(
    api_with: Any,
) -> None:
    async with api_with(**FAST) as api, receiver() as old, receiver() as new:
        old.default = (404, {"error": "no such path"}, {})
        key, flow_id = await setup(api, old.url, headers={"X-Api-Key": "old-key"})
        started = await trigger(api, key, flow_id)
        dead = await delivery_of(api, key, started["uuid"], "FAILED")
        await put_webhook(api, key, url=new.url, headers={"X-Api-Key": "new-key"})
        status, _ = await api.request("POST", f"/v1/deliveries/{dead['id']}/replay", key=key)
        assert status == 202
        done = await delivery_of(api, key, started["uuid"], "SUCCEEDED")
        got = (await new.wait_for(1))[0]
    assert len(old.received) == 1
    assert got.headers["webhook-id"] == old.received[0].headers["webhook-id"] == dead["id"]
    assert got.headers["X-Api-Key"] == "new-key"
    assert got.json()["phonon-uuid"] == started["uuid"]  # the same message
    assert [a["url"] for a in done["attempts"]] == [old.url, new.url]
    assert [a["status_code"] for a in done["attempts"]] == [404, 200]


async def test_a_retry_after_fixing_the_webhook_reaches_the_new_receiver(api_with: Any) -> None:
    slow = {"delivery_schedule_s": [0] + [0.3] * 20, "breaker_failures": 0}
    async with api_with(**slow) as api, receiver() as old, receiver() as new:
        old.default = (503, {}, {})
        key, flow_id = await setup(api, old.url)
        started = await trigger(api, key, flow_id)
        await old.wait_for(1)
        await put_webhook(api, key, url=new.url)
        done = await delivery_of(api, key, started["uuid"], "SUCCEEDED")
        got = (await new.wait_for(1))[0]
    assert got.headers["webhook-id"] == old.received[0].headers["webhook-id"] == done["id"]
    urls = [a["url"] for a in done["attempts"]]
    assert urls[0] == old.url and urls[-1] == new.url
    assert len(new.received) == 1 and urls.count(new.url) == 1
    assert done["endpoint"] == new.url.split("//")[1].split("/")[0]


@pytest.mark.slow
async def test_a_delivery_whose_webhook_was_deleted_fails_with_webhook_not_found(
    api_with: Any,
) -> None:
    async with api_with(**FAST) as api, receiver() as rec:
        rec.default = (400, {}, {})
        key, flow_id = await setup(api, rec.url)
        started = await trigger(api, key, flow_id)
        dead = await delivery_of(api, key, started["uuid"], "FAILED")
        status, _ = await api.request("DELETE", f"/v1/webhooks/{dead['webhook_id']}", key=key)
        assert status == 204
        status, _ = await api.request("POST", f"/v1/deliveries/{dead['id']}/replay", key=key)
        assert status == 202
        # the replay made it PENDING: FAILED again means its attempt is done
        again = await delivery_of(api, key, started["uuid"], "FAILED")
    assert len(again["attempts"]) == 2
    assert len(rec.received) == 1  # nothing was sent anywhere
    assert again["last_error"] == "WEBHOOK_NOT_FOUND"
    last = again["attempts"][-1]
    assert last["error_reason"] == "WEBHOOK_NOT_FOUND" and last["status_code"] is None
    assert last["url"] is None


async def test_a_custom_target_keeps_its_url_and_credentials(api_with: Any) -> None:
    async with api_with(**FAST) as api, receiver() as rec:
        rec.replies = [(400, {}, {})]
        _, key = await api.account(http_enabled=True)
        url = rec.url.replace("//", "//me:pa55word@") + "?api_token=tok-1"
        flow = {
            "name": "custom",
            "type": "outbound",
            "entry": {"start": "call"},
            "widgets": {
                "call": {
                    "type": "webhook",
                    "webhook": "custom",
                    "request": {"url": url, "headers": {"X-Secret": "s-1"}},
                    "wait_for_response": False,
                    "exits": {"0": "end"},
                },
                "end": {"type": "end"},
            },
        }
        status, created = await api.request("POST", "/v1/flows", key=key, json=flow)
        assert status == 201, created
        started = await trigger(api, key, created["flow_id"])
        dead = await delivery_of(api, key, started["uuid"], "FAILED")
        status, _ = await api.request("POST", f"/v1/deliveries/{dead['id']}/replay", key=key)
        assert status == 202
        done = await delivery_of(api, key, started["uuid"], "SUCCEEDED")
    assert len(rec.received) == 2
    for got in rec.received:
        assert got.headers["Authorization"] == "Basic " + base64.b64encode(b"me:pa55word").decode()
        assert got.query == {"api_token": "tok-1"} and got.headers["X-Secret"] == "s-1"
    shown = rec.url.replace("//", "//me:***@") + "?api_token=***"
    assert [a["url"] for a in done["attempts"]] == [shown, shown]
    assert done["request"]["url"] == shown and done["request"]["headers"]["X-Secret"] == "***"
