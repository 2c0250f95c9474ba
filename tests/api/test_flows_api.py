"""Flows over the API: create, list, read, replace, publish, delete; validation with paths;
tenant isolation; malformed and oversize bodies."""

from __future__ import annotations

import asyncio
import copy
import re
from typing import Any

import pytest

from support.app import error_code
from support.flows import two_step_flow

FLOW: dict[str, Any] = two_step_flow()

WAITING_FLOW: dict[str, Any] = {
    "name": "long_wait",
    "entry": {"start": "wait"},
    "widgets": {"wait": {"type": "delay", "minutes": 60}},
}


async def create(api: Any, key: str, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    status, body = await api.request("POST", "/v1/flows", key=key, json=doc or FLOW)
    assert status == 201, body
    return dict(body)


async def test_create_returns_201_with_the_flow_ids(api_any: Any) -> None:
    _, key = await api_any.account()
    created = await create(api_any, key)
    assert re.fullmatch(r"[A-Za-z0-9]{8}", created["flow_id"])
    assert re.fullmatch(r"[A-Za-z0-9]{64}", created["security_id"])
    assert created["name"] == "greet"
    assert created["test"]["widgets"] == FLOW["widgets"]
    assert created["prod"] is None
    assert created["warnings"] == []


async def test_get_list_put_publish_delete(api_any: Any) -> None:
    _, key = await api_any.account()
    first = await create(api_any, key)
    second_doc = {**FLOW, "name": "second"}
    second = await create(api_any, key, second_doc)
    flow_id = first["flow_id"]

    status, listed = await api_any.request("GET", "/v1/flows", key=key)
    assert status == 200
    assert [(f["flow_id"], f["name"], f["published"]) for f in listed["flows"]] == [
        (flow_id, "greet", False),
        (second["flow_id"], "second", False),
    ]

    status, got = await api_any.request("GET", f"/v1/flows/{flow_id}", key=key)
    assert status == 200 and got["test"] == created_doc(FLOW)

    replaced = copy.deepcopy(FLOW)
    replaced["name"] = "greet_v2"
    replaced["widgets"]["island"] = {"type": "end"}
    status, body = await api_any.request("PUT", f"/v1/flows/{flow_id}", key=key, json=replaced)
    assert status == 200, body
    assert body["name"] == "greet_v2"
    assert body["warnings"] == [
        {
            "path": "$.widgets.island",
            "code": "UNREACHABLE_WIDGET",
            "message": "widget is not reachable from any entry",
            "widget": "island",
        }
    ]
    assert body["prod"] is None

    status, body = await api_any.request("POST", f"/v1/flows/{flow_id}/publish", key=key)
    assert status == 200, body
    assert body["prod"] == body["test"]
    assert body["published_at"] is not None

    status, listed = await api_any.request("GET", "/v1/flows", key=key)
    assert listed["flows"][0]["published"] is True

    status, body = await api_any.request("DELETE", f"/v1/flows/{flow_id}", key=key)
    assert status == 204, body
    status, body = await api_any.request("GET", f"/v1/flows/{flow_id}", key=key)
    assert status == 404 and error_code(body) == "FLOW_NOT_FOUND"
    status, listed = await api_any.request("GET", "/v1/flows", key=key)
    assert [f["flow_id"] for f in listed["flows"]] == [second["flow_id"]]


def created_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """A flow as stored: the validated document with defaults filled in."""
    return {"type": "outbound", "webhook_enabled": False, "dids": [], **doc}


async def test_an_invalid_flow_is_422_with_every_path_and_nothing_is_stored(api: Any) -> None:
    _, key = await api.account()
    bad = copy.deepcopy(FLOW)
    bad["widgets"]["a"]["next"] = "nowhere"
    bad["widgets"]["b"] = {"type": "teleport"}
    del bad["widgets"]["a"]["assignments"]
    status, body = await api.request("POST", "/v1/flows", key=key, json=bad)
    assert status == 422, body
    assert error_code(body) == "INVALID_FLOW"
    assert sorted(d["path"] for d in body["error"]["details"]) == [
        "$.widgets.a.assignments",
        "$.widgets.a.next",
        "$.widgets.b.type",
    ]
    _, listed = await api.request("GET", "/v1/flows", key=key)
    assert listed["flows"] == []


async def test_a_bad_name_a_bad_widget_and_a_dangling_exit_come_in_one_answer(
    api_any: Any,
) -> None:
    _, key = await api_any.account()
    bad = copy.deepcopy(FLOW)
    bad["name"] = "no spaces allowed"
    bad["widgets"]["a"]["assignments"] = [{"variable": "$call.cli.number", "value": "1"}]
    bad["widgets"]["b"] = {"type": "counter", "limit": 2, "exits": {"over": "ghost"}}
    status, body = await api_any.request("POST", "/v1/flows", key=key, json=bad)
    assert status == 422, body
    assert error_code(body) == "INVALID_FLOW"
    assert sorted((d["path"], d["code"]) for d in body["error"]["details"]) == [
        ("$.name", "INVALID_VALUE"),
        ("$.widgets.a.assignments[0].variable", "INVALID_VALUE"),
        ("$.widgets.b.exits.over", "UNKNOWN_WIDGET"),
    ]
    assert all(d["message"] for d in body["error"]["details"])
    _, listed = await api_any.request("GET", "/v1/flows", key=key)
    assert listed["flows"] == []


async def test_a_dangling_exit_is_reported_with_its_path(api: Any) -> None:
    _, key = await api.account()
    bad = copy.deepcopy(FLOW)
    bad["widgets"]["a"]["next"] = "nowhere"
    status, body = await api.request("POST", "/v1/flows", key=key, json=bad)
    assert status == 422
    assert [d["path"] for d in body["error"]["details"]] == ["$.widgets.a.next"]


async def test_an_invalid_replacement_keeps_the_stored_flow(api: Any) -> None:
    _, key = await api.account()
    flow_id = (await create(api, key))["flow_id"]
    status, body = await api.request(
        "PUT", f"/v1/flows/{flow_id}", key=key, json={**FLOW, "name": "bad name"}
    )
    assert status == 422, body
    assert [d["path"] for d in body["error"]["details"]] == ["$.name"]
    _, got = await api.request("GET", f"/v1/flows/{flow_id}", key=key)
    assert got["name"] == "greet"


@pytest.mark.parametrize(
    "raw",
    [b'{"name": "x", ', b"not json at all", b'{"name": "x"}}', b"\xff\xfe"],
)
async def test_malformed_json_is_400(api: Any, raw: bytes) -> None:
    _, key = await api.account()
    status, body = await api.request(
        "POST", "/v1/flows", key=key, data=raw, headers={"Content-Type": "application/json"}
    )
    assert status == 400, body
    assert error_code(body) == "MALFORMED_JSON"


@pytest.mark.parametrize("doc", [[], "flow", 42, None, {"name": 3}])
async def test_a_body_of_the_wrong_shape_is_422(api: Any, doc: Any) -> None:
    _, key = await api.account()
    status, body = await api.request("POST", "/v1/flows", key=key, json=doc)
    assert status == 422, body
    assert error_code(body) in ("INVALID_FLOW", "VALIDATION_FAILED")


async def test_an_empty_body_is_422(api: Any) -> None:
    _, key = await api.account()
    status, body = await api.request("POST", "/v1/flows", key=key)
    assert status == 422, body


async def test_a_body_over_256_kb_is_413(api: Any) -> None:
    _, key = await api.account()
    doc = copy.deepcopy(FLOW)
    doc["description"] = "x" * (256 * 1024)
    status, body = await api.request("POST", "/v1/flows", key=key, json=doc)
    assert status == 413, body
    assert error_code(body) == "PAYLOAD_TOO_LARGE"


async def test_a_chunked_body_over_the_limit_is_413(api: Any) -> None:
    _, key = await api.account()

    async def chunks() -> Any:
        for _ in range(300):
            yield b"x" * 1024

    status, body = await api.request(
        "POST", "/v1/flows", key=key, data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert status == 413, body


async def test_a_body_just_under_the_limit_is_read(api: Any) -> None:
    _, key = await api.account()
    doc = copy.deepcopy(FLOW)
    doc["description"] = "x" * (250 * 1024)
    status, body = await api.request("POST", "/v1/flows", key=key, json=doc)
    assert status == 201, body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/nothing-here"),
        ("GET", "/v1/"),  # (`/` is the console's home page: tests/ui)
        ("POST", "/v1/flows/abc/nothing"),
        ("GET", "/v1/flows/unknownid"),
        ("PUT", "/v1/flows/unknownid"),
        ("DELETE", "/v1/flows/unknownid"),
        ("POST", "/v1/flows/unknownid/publish"),
        ("POST", "/v1/flows/unknownid/executions"),
    ],
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_unknown_routes_and_ids_are_json_404(api: Any, method: str, path: str) -> None:
    _, key = await api.account()
    payload = FLOW if method == "PUT" else ({} if method == "POST" else None)
    status, body = await api.request(method, path, key=key, json=payload)
    assert status == 404, body
    error_code(body)


async def test_a_wrong_method_is_json_405(api: Any) -> None:
    _, key = await api.account()
    status, body = await api.request("PATCH", "/v1/flows", key=key, json={})
    assert status == 405, body
    assert error_code(body) == "METHOD_NOT_ALLOWED"


async def test_another_account_sees_none_of_my_flows(api_any: Any) -> None:
    _, mine = await api_any.account("a")
    _, theirs = await api_any.account("b")
    flow_id = (await create(api_any, mine))["flow_id"]
    await create(api_any, theirs, {**FLOW, "name": "theirs"})

    _, listed = await api_any.request("GET", "/v1/flows", key=theirs)
    assert [f["name"] for f in listed["flows"]] == ["theirs"]
    for method, path, payload in [
        ("GET", f"/v1/flows/{flow_id}", None),
        ("PUT", f"/v1/flows/{flow_id}", FLOW),
        ("DELETE", f"/v1/flows/{flow_id}", None),
        ("POST", f"/v1/flows/{flow_id}/publish", None),
        ("POST", f"/v1/flows/{flow_id}/executions", {"version": "test"}),
    ]:
        status, body = await api_any.request(method, path, key=theirs, json=payload)
        assert status == 404, (method, path, body)
        assert error_code(body) == "FLOW_NOT_FOUND"
    status, got = await api_any.request("GET", f"/v1/flows/{flow_id}", key=mine)
    assert status == 200 and got["name"] == "greet" and got["prod"] is None


async def test_delete_is_refused_while_an_execution_waits(api: Any) -> None:
    _, key = await api.account()
    flow_id = (await create(api, key, WAITING_FLOW))["flow_id"]
    status, trigger = await api.request(
        "POST", f"/v1/flows/{flow_id}/executions", key=key, json={"version": "test"}
    )
    assert status == 202, trigger
    await api.wait_for(trigger["uuid"], key, statuses=("WAITING",))
    status, body = await api.request("DELETE", f"/v1/flows/{flow_id}", key=key)
    assert status == 409, body
    assert error_code(body) == "FLOW_IN_USE"
    assert body["error"]["details"] == {"unfinished_executions": 1}
    status, _ = await api.request("GET", f"/v1/flows/{flow_id}", key=key)
    assert status == 200


async def test_a_finished_execution_does_not_block_delete(api: Any) -> None:
    _, key = await api.account()
    flow_id = (await create(api, key))["flow_id"]
    _, trigger = await api.request(
        "POST", f"/v1/flows/{flow_id}/executions", key=key, json={"version": "test"}
    )
    await api.wait_for(trigger["uuid"], key)
    status, body = await api.request("DELETE", f"/v1/flows/{flow_id}", key=key)
    assert status == 204, body


def saved_hook_flow(ref: str) -> dict[str, Any]:
    """A flow whose webhook widget names a saved webhook (by name or id)."""
    return {
        "name": "report",
        "entry": {"start": "call"},
        "widgets": {
            "call": {"type": "webhook", "webhook": ref, "exits": {"0": "done"}},
            "done": {"type": "end"},
        },
    }


async def save_webhook(api: Any, key: str, name: str) -> dict[str, Any]:
    # never called by these tests: only its existence matters
    hook = {"name": name, "method": "POST", "url": "http://127.0.0.1:9/hook"}
    status, body = await api.request("POST", "/v1/webhooks", key=key, json=hook)
    assert status == 201, body
    return dict(body)


async def test_a_missing_saved_webhook_warns_on_save_and_blocks_publish_until_added(
    api_any: Any,
) -> None:
    _, key = await api_any.account()
    created = await create(api_any, key, saved_hook_flow("crm_events"))
    [warning] = created["warnings"]
    assert warning["code"] == "WEBHOOK_NOT_FOUND"
    assert warning["widget"] == "call"
    assert warning["path"] == "$.widgets.call.webhook"
    assert "crm_events" in warning["message"]
    flow_id = created["flow_id"]

    status, body = await api_any.request("POST", f"/v1/flows/{flow_id}/publish", key=key)
    assert status == 409, body
    assert error_code(body) == "WEBHOOK_NOT_FOUND"
    assert [(d["widget"], d["code"]) for d in body["error"]["details"]] == [
        ("call", "WEBHOOK_NOT_FOUND")
    ]
    _, got = await api_any.request("GET", f"/v1/flows/{flow_id}", key=key)
    assert got["prod"] is None and got["published_at"] is None

    await save_webhook(api_any, key, "crm_events")
    status, body = await api_any.request("POST", f"/v1/flows/{flow_id}/publish", key=key)
    assert status == 200, body
    assert body["prod"] == body["test"]
    status, body = await api_any.request(
        "PUT", f"/v1/flows/{flow_id}", key=key, json=saved_hook_flow("crm_events")
    )
    assert status == 200, body
    assert body["warnings"] == []


async def test_a_saved_webhook_named_by_its_id_is_found(api: Any) -> None:
    _, key = await api.account()
    saved = await save_webhook(api, key, "crm_events")
    created = await create(api, key, saved_hook_flow(saved["id"]))
    assert created["warnings"] == []
    status, body = await api.request("POST", f"/v1/flows/{created['flow_id']}/publish", key=key)
    assert status == 200, body


async def test_another_accounts_webhook_of_that_name_does_not_count(api: Any) -> None:
    _, mine = await api.account("a")
    _, theirs = await api.account("b")
    await save_webhook(api, theirs, "crm_events")
    created = await create(api, mine, saved_hook_flow("crm_events"))
    assert [w["code"] for w in created["warnings"]] == ["WEBHOOK_NOT_FOUND"]
    status, body = await api.request("POST", f"/v1/flows/{created['flow_id']}/publish", key=mine)
    assert status == 409 and error_code(body) == "WEBHOOK_NOT_FOUND"


async def test_a_custom_webhook_widget_needs_no_saved_webhook(api: Any) -> None:
    _, key = await api.account()
    doc = saved_hook_flow("custom")
    doc["widgets"]["call"]["request"] = {"url": "http://127.0.0.1:9/hook"}
    created = await create(api, key, doc)
    assert created["warnings"] == []
    status, body = await api.request("POST", f"/v1/flows/{created['flow_id']}/publish", key=key)
    assert status == 200, body


async def test_a_second_flow_of_the_same_name_is_409_on_create_and_rename(api_any: Any) -> None:
    _, key = await api_any.account()
    first = await create(api_any, key)
    status, body = await api_any.request("POST", "/v1/flows", key=key, json=FLOW)
    assert status == 409, body
    assert error_code(body) == "FLOW_NAME_TAKEN"
    assert body["error"]["details"] == {"name": "greet"}

    second = await create(api_any, key, {**FLOW, "name": "second"})
    status, body = await api_any.request(
        "PUT", f"/v1/flows/{second['flow_id']}", key=key, json=FLOW
    )
    assert status == 409, body
    assert error_code(body) == "FLOW_NAME_TAKEN"
    _, got = await api_any.request("GET", f"/v1/flows/{second['flow_id']}", key=key)
    assert got["name"] == "second" and got["test"]["name"] == "second"

    # a flow keeps its own name through an edit, and a freed name can be taken again
    status, body = await api_any.request("PUT", f"/v1/flows/{first['flow_id']}", key=key, json=FLOW)
    assert status == 200, body
    status, _ = await api_any.request("DELETE", f"/v1/flows/{first['flow_id']}", key=key)
    assert status == 204
    status, body = await api_any.request(
        "PUT", f"/v1/flows/{second['flow_id']}", key=key, json=FLOW
    )
    assert status == 200 and body["name"] == "greet", body


async def test_concurrent_creates_of_one_name_make_one_flow(api_any: Any) -> None:
    _, key = await api_any.account()
    answers = await asyncio.gather(
        *(api_any.request("POST", "/v1/flows", key=key, json=FLOW) for _ in range(8))
    )
    assert sorted(status for status, _ in answers) == [201] + [409] * 7
    assert {error_code(body) for status, body in answers if status == 409} == {"FLOW_NAME_TAKEN"}
    _, listed = await api_any.request("GET", "/v1/flows", key=key)
    assert [f["name"] for f in listed["flows"]] == ["greet"]


async def test_two_accounts_may_each_have_a_flow_of_one_name(api_any: Any) -> None:
    _, mine = await api_any.account("a")
    _, theirs = await api_any.account("b")
    await create(api_any, mine)
    await create(api_any, theirs)
