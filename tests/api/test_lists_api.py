"""The lists' query parameters and the 24-hour figures over HTTP, on SQLite and
PostgreSQL: executions found by the customer's number as it was typed and by time,
deliveries by webhook and time, the account's and a webhook's last 24 hours, and clear
4xx answers for filters that cannot mean anything."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from support.receiver import receiver

FLOW: dict[str, Any] = {
    "name": "notify",
    "type": "outbound",
    "webhook_enabled": True,
    "entry": {"start": "end"},
    "widgets": {"end": {"type": "end"}},
}


def iso(seconds: float) -> str:
    return quote(datetime.fromtimestamp(seconds, UTC).isoformat())


async def settled(api: Any, key: str, path: str, field: str, want: int) -> list[dict[str, Any]]:
    """The list at ``path`` once it holds ``want`` rows whose ``field`` is final."""
    deadline = time.monotonic() + 10
    while True:
        status, body = await api.request("GET", path, key=key)
        assert status == 200, body
        rows: list[dict[str, Any]] = body[field]
        if len(rows) == want and all(r["status"] in ("COMPLETED", "SUCCEEDED") for r in rows):
            return rows
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.02)


async def test_filters_and_figures_over_http(api_any: Any) -> None:
    async with receiver() as rec:
        _, key = await api_any.account(http_enabled=True)
        _, other_key = await api_any.account("other", http_enabled=True)
        status, hook = await api_any.request(
            "POST",
            "/v1/webhooks",
            key=key,
            json={"name": "crm", "url": rec.url, "is_default": True},
        )
        assert status == 201, hook
        status, flow = await api_any.request("POST", "/v1/flows", key=key, json=FLOW)
        assert status == 201, flow
        before = time.time() - 1
        uuids = []
        for dnis in ("9879964805", "9123456789", "9879964805"):
            status, started = await api_any.request(
                "POST",
                f"/v1/flows/{flow['flow_id']}/executions",
                key=key,
                json={"version": "test", "dnis": dnis},
            )
            assert status == 202, started
            uuids.append(started["uuid"])
        await settled(api_any, key, "/v1/executions", "executions", 3)
        sent = await settled(
            api_any,
            key,
            f"/v1/deliveries?webhook={hook['id']}&since={iso(before)}",
            "deliveries",
            3,
        )
        await rec.wait_for(3)

    # the number as it was typed, or in the stored form: the same executions, newest first
    for typed in ("+91 98799 64805", "919879964805"):
        status, body = await api_any.request(
            "GET", f"/v1/executions?contact={quote(typed)}", key=key
        )
        assert status == 200, body
        assert [e["uuid"] for e in body["executions"]] == [uuids[2], uuids[0]]
        assert {e["contact"] for e in body["executions"]} == {"919879964805"}
    _, later = await api_any.request(
        "GET", f"/v1/executions?since={iso(time.time() + 60)}", key=key
    )
    assert later["executions"] == []
    _, one = await api_any.request("GET", f"/v1/executions?uuid={uuids[1]}", key=key)
    assert [e["uuid"] for e in one["executions"]] == [uuids[1]]
    assert {d["execution_uuid"] for d in sent} == set(uuids)
    _, theirs = await api_any.request("GET", f"/v1/deliveries?webhook={hook['id']}", key=other_key)
    assert theirs["deliveries"] == []

    status, figures = await api_any.request("GET", "/v1/activity", key=key)
    assert status == 200, figures
    assert figures["executions"]["total"] == 3
    assert figures["executions"]["by_status"] == {"COMPLETED": 3}
    assert figures["deliveries"]["by_status"] == {"SUCCEEDED": 3}
    assert figures["deliveries"]["attempt_p50_ms"] is not None
    status, chart = await api_any.request("GET", f"/v1/webhooks/{hook['id']}/activity", key=key)
    assert status == 200, chart
    assert (chart["attempts"], chart["succeeded"], chart["success_rate"]) == (3, 3, 1.0)
    assert sum(m["attempts"] for m in chart["minutes"]) == 3
    status, _ = await api_any.request("GET", f"/v1/webhooks/{hook['id']}/activity", key=other_key)
    assert status == 404


async def test_filters_that_cannot_mean_anything_are_refused(api_any: Any) -> None:
    _, key = await api_any.account()
    for path, code in (
        ("/v1/executions?contact=not-a-number", "INVALID_CONTACT_NUMBER"),
        ("/v1/executions?since=yesterday", None),
        ("/v1/executions?uuid=a%00b", None),
        ("/v1/deliveries?until=soon", None),
        ("/v1/deliveries?webhook=a%00b", None),
        ("/v1/deliveries?execution=" + "e" * 40, None),
    ):
        status, body = await api_any.request("GET", path, key=key)
        assert status == 422, (path, body)
        if code:
            assert body["error"]["code"] == code


async def test_the_openapi_document_lists_the_filters(api: Any) -> None:
    _, doc = await api.request("GET", "/openapi.json")
    params = {
        path: {p["name"] for p in doc["paths"][path]["get"]["parameters"]}
        for path in ("/v1/executions", "/v1/deliveries")
    }
    assert {"uuid", "flow_id", "status", "contact", "since", "until", "cursor"} <= params[
        "/v1/executions"
    ]
    assert {"webhook", "execution", "status", "since", "until", "cursor"} <= params[
        "/v1/deliveries"
    ]
