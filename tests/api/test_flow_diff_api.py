"""``GET /v1/flows/{flow_id}/diff``: what publishing the test version would change in prod,
over HTTP on both engines."""

from __future__ import annotations

from typing import Any

from support.app import error_code

FLOW: dict[str, Any] = {
    "name": "greet",
    "entry": {"start": "a"},
    "widgets": {"a": {"type": "end"}},
}


async def test_the_diff_of_an_edited_published_flow(api_any: Any) -> None:
    _, key = await api_any.account()
    status, created = await api_any.request("POST", "/v1/flows", key=key, json=FLOW)
    assert status == 201, created
    flow_id = created["flow_id"]
    status, body = await api_any.request("POST", f"/v1/flows/{flow_id}/publish", key=key)
    assert status == 200, body

    edited = {**FLOW, "description": "v2", "widgets": {"a": {"type": "end"}, "b": {"type": "end"}}}
    status, body = await api_any.request("PUT", f"/v1/flows/{flow_id}", key=key, json=edited)
    assert status == 200, body
    status, diff = await api_any.request("GET", f"/v1/flows/{flow_id}/diff", key=key)
    assert status == 200, diff
    assert diff == {
        "flow_id": flow_id,
        "published": True,
        "same": False,
        "fields": {"description": {"test": "v2", "prod": None}},
        "widgets": {"added": ["b"], "removed": [], "changed": []},
    }


async def test_another_accounts_flow_has_no_diff(api_any: Any) -> None:
    _, mine = await api_any.account("a")
    _, theirs = await api_any.account("b")
    _, created = await api_any.request("POST", "/v1/flows", key=mine, json=FLOW)
    status, body = await api_any.request("GET", f"/v1/flows/{created['flow_id']}/diff", key=theirs)
    assert status == 404 and error_code(body) == "FLOW_NOT_FOUND"
