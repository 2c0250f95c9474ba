"""Recover over HTTP, on SQLite and PostgreSQL: a receiver that failed comes back, the
webhook's dead letters since a time are sent again in one action, and the job's progress
is read at its two addresses; bad windows and other accounts' webhooks and jobs get clear
4xx answers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from support.receiver import receiver

FLOW: dict[str, Any] = {
    "name": "notify",
    "type": "outbound",
    "webhook_enabled": True,
    "entry": {"start": "end"},
    "widgets": {"end": {"type": "end"}},
}


async def until(api: Any, key: str, path: str, done: Any) -> Any:
    deadline = time.monotonic() + 20
    while True:
        status, body = await api.request("GET", path, key=key)
        assert status == 200, body
        if done(body):
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.05)


async def test_recover_after_the_receiver_is_fixed(api_any: Any) -> None:
    async with receiver() as rec:
        rec.default = (400, {"error": "not yet"}, {})  # refused: dead-lettered at once
        _, key = await api_any.account(http_enabled=True)
        _, other_key = await api_any.account("other")
        status, hook = await api_any.request(
            "POST",
            "/v1/webhooks",
            key=key,
            json={"name": "crm", "url": rec.url, "is_default": True},
        )
        assert status == 201, hook
        _, flow = await api_any.request("POST", "/v1/flows", key=key, json=FLOW)
        since = time.time() - 1
        for _ in range(3):
            status, _ = await api_any.request(
                "POST", f"/v1/flows/{flow['flow_id']}/executions", key=key, json={"version": "test"}
            )
            assert status == 202
        failed = await until(
            api_any,
            key,
            "/v1/deliveries?status=FAILED",
            lambda body: len(body["deliveries"]) == 3,
        )
        ids = sorted(d["id"] for d in failed["deliveries"])

        rec.default = (200, {"ok": True}, {})  # the receiver is fixed
        status, job = await api_any.request(
            "POST", f"/v1/webhooks/{hook['id']}/recover", key=key, json={"since": since}
        )
        assert status == 202, job
        assert (job["status"], job["total"], job["webhook_id"]) == ("RUNNING", 3, hook["id"])
        done = await until(
            api_any, key, f"/v1/jobs/{job['id']}", lambda body: body["status"] == "DONE"
        )
        assert (done["total"], done["done"], done["failed"]) == (3, 3, 0)
        await until(
            api_any,
            key,
            "/v1/deliveries?status=SUCCEEDED",
            lambda body: sorted(d["id"] for d in body["deliveries"]) == ids,
        )
        again = [r.headers["webhook-id"] for r in rec.received[3:]]
        assert sorted(again) == ids  # each sent again with its own webhook-id

    _, scraped = await api_any.request("GET", "/metrics")
    families = {f.name: f.samples for f in text_string_to_metric_families(scraped)}
    jobs = {(s.labels["kind"], s.labels["status"]): s.value for s in families["flowhook_jobs"]}
    assert jobs == {("recover", "DONE"): 1.0}
    assert families["flowhook_job_items_remaining"] == []  # nothing is running

    status, same = await api_any.request(
        "GET", f"/v1/webhooks/{hook['id']}/recover/{job['id']}", key=key
    )
    assert (status, same["done"]) == (200, 3)
    for path in (f"/v1/jobs/{job['id']}", f"/v1/webhooks/{hook['id']}/recover/{job['id']}"):
        status, body = await api_any.request("GET", path, key=other_key)
        assert status == 404, body
    status, body = await api_any.request(
        "POST", f"/v1/webhooks/{hook['id']}/recover", key=other_key, json={"since": since}
    )
    assert (status, body["error"]["code"]) == (404, "WEBHOOK_NOT_FOUND")


async def test_bad_recover_requests_are_refused(api_any: Any) -> None:
    _, key = await api_any.account(http_enabled=True)
    status, hook = await api_any.request(
        "POST", "/v1/webhooks", key=key, json={"name": "crm", "url": "http://127.0.0.1:9/hook"}
    )
    assert status == 201, hook
    path = f"/v1/webhooks/{hook['id']}/recover"
    for body, code in (
        ({}, None),
        ({"since": "yesterday"}, None),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "INVALID_WINDOW"),
        ({"since": 0, "extra": 1}, None),
    ):
        status, answer = await api_any.request("POST", path, key=key, json=body)
        assert status == 422, (body, answer)
        if code:
            assert answer["error"]["code"] == code
    status, answer = await api_any.request("POST", "/v1/executions/nope/recover", key=key)
    assert (status, answer["error"]["code"]) == (404, "EXECUTION_NOT_FOUND")
    status, answer = await api_any.request("GET", f"{path}/nope", key=key)
    assert (status, answer["error"]["code"]) == (404, "JOB_NOT_FOUND")
