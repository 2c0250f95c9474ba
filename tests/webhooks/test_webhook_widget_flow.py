"""The webhook widget inside running flows, against real local receivers."""

from __future__ import annotations

import base64
from typing import Any

from support.receiver import receiver


def webhook_flow(widget: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": "call_api",
        "type": "outbound",
        "entry": {"start": "prep"},
        "widgets": {
            "prep": {
                "type": "store_variable",
                "assignments": [
                    {"variable": "$flow.key.name", "value": 'Zoë "Z" <&>'},
                    {"variable": "$flow.key.amount", "value": 42},
                ],
                "next": "call",
            },
            "call": {**widget, "type": "webhook", "exits": {"0": "ok", "1": "bad"}},
            "ok": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.path", "value": "success"}],
            },
            "bad": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.path", "value": "failure"}],
            },
        },
        **extra,
    }


async def run_flow(api: Any, key: str, flow: dict[str, Any], **trigger: Any) -> dict[str, Any]:
    status, created = await api.request("POST", "/v1/flows", key=key, json=flow)
    assert status == 201, created
    status, body = await api.request(
        "POST",
        f"/v1/flows/{created['flow_id']}/executions",
        key=key,
        json={"version": "test", **trigger},
    )
    assert status == 202, body
    done: dict[str, Any] = await api.wait_for(body["uuid"], key)
    return done


async def test_custom_json_post_maps_response_into_variables(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        rec.default = (200, {"status": "ok", "ref": "R-1", "score": 42, "items": [{"id": 7}]}, {})
        widget = {
            "webhook": "custom",
            "request": {
                "method": "POST",
                "url": rec.url + "?src=$flow.key.amount",
                "headers": {"X-Customer": "$flow.key.name"},
                "body_type": "JSON",
                "body": {
                    "name": "$flow.key.name",
                    "amount": "$flow.key.amount",
                    "note": "n=$flow.key.amount",
                },
            },
            "response_map": {
                "$flow.key.ref": "data.ref",
                "$flow.key.score": "data.score",
                "$flow.key.first": "data.items[0].id",
            },
        }
        execution = await run_flow(api, key, webhook_flow(widget))
    got = rec.received[0]
    assert got.json() == {"name": 'Zoë "Z" <&>', "amount": 42, "note": "n=42"}
    assert got.query == {"src": "42"}
    assert got.headers["X-Customer"] == 'Zoë "Z" <&>'
    assert got.headers["Content-Type"] == "application/json"
    v = execution["variables"]
    assert v["$flow.key.path"] == "success"
    assert (v["$flow.key.ref"], v["$flow.key.score"], v["$flow.key.first"]) == ("R-1", 42, 7)
    assert v["$flow.key.response_status"] == "SUCCESS"
    assert v["$flow.key.response_status_code"] == 200
    assert v["$flow.key.response_status_type"] == "SUCCESSFUL"
    assert v["$flow.key.response_error"] is False
    assert v["$flow.key.error_reason"] is None
    assert (
        '"ref": "R-1"' in v["$flow.key.response_raw"]
        or '"ref":"R-1"' in v["$flow.key.response_raw"]
    )
    step = next(s for s in execution["steps"] if s["widget"] == "call")
    assert step["exit"] == "0"
    assert step["request"]["method"] == "POST"
    assert step["response"]["status"] == 200


async def test_saved_webhook_with_basic_auth_is_sent_and_redacted_in_the_log(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        status, saved = await api.request(
            "POST",
            "/v1/webhooks",
            key=key,
            json={
                "name": "crm",
                "method": "PUT",
                "url": rec.url,
                "auth": {"type": "basic", "username": "user", "password": "s3cr:et"},
                "headers": {"X-Amount": "$flow.key.amount"},
                "body_type": "URL_ENCODED",
                "body": {"who": "$flow.key.name"},
            },
        )
        assert status == 201, saved
        execution = await run_flow(api, key, webhook_flow({"webhook": "crm"}))
    got = rec.received[0]
    assert got.method == "PUT"
    assert base64.b64decode(got.headers["Authorization"].split()[1]) == b"user:s3cr:et"
    assert got.headers["X-Amount"] == "42"
    assert got.body.decode() == "who=Zo%C3%AB+%22Z%22+%3C%26%3E"
    step = next(s for s in execution["steps"] if s["widget"] == "call")
    assert step["request"]["headers"]["Authorization"] == "***"
    assert "s3cr" not in str(execution)


async def test_server_error_leaves_by_exit_1_with_reason(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        rec.default = (503, {"error": "down"}, {})
        widget = {
            "webhook": "custom",
            "request": {"url": rec.url, "body_type": "PLAIN_TEXT", "body": "hi $flow.key.name"},
        }
        execution = await run_flow(api, key, webhook_flow(widget))
    assert rec.received[0].body.decode() == 'hi Zoë "Z" <&>'
    v = execution["variables"]
    assert v["$flow.key.path"] == "failure"
    assert v["$flow.key.response_status"] == "FAILED"
    assert v["$flow.key.response_status_code"] == 503
    assert v["$flow.key.response_status_type"] == "SERVER_ERROR"
    assert v["$flow.key.error_reason"] == "SERVER_ERROR"
    assert v["$flow.key.response_error"] is True


async def test_missing_response_path_fails_unless_optional(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        rec.default = (200, {"a": 1}, {})
        strict = {
            "webhook": "custom",
            "request": {"url": rec.url},
            "response_map": {"$flow.key.b": "data.b"},
        }
        failed = await run_flow(api, key, webhook_flow(strict))
        lenient = {
            "webhook": "custom",
            "request": {"url": rec.url},
            "response_map": {
                "$flow.key.a": "data.a",
                "$flow.key.b": {"path": "data.b", "optional": True},
            },
        }
        # a second flow of the account: flow names are unique in an account
        passed = await run_flow(api, key, webhook_flow(lenient, name="call_api_lenient"))
    assert failed["variables"]["$flow.key.error_reason"] == "MAPPING_FAILED"
    assert failed["variables"]["$flow.key.path"] == "failure"
    assert failed["variables"]["$flow.key.response_status_code"] == 200
    assert passed["variables"]["$flow.key.path"] == "success"
    assert passed["variables"]["$flow.key.a"] == 1
    assert "$flow.key.b" not in passed["variables"]


async def test_xml_response_is_mapped(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        rec.default = (
            200,
            b"<r><ref>X9</ref><items><i>a</i><i>b</i></items></r>",
            {"Content-Type": "application/xml"},
        )
        widget = {
            "webhook": "custom",
            "request": {"url": rec.url, "body_type": "XML", "body": "<n>$flow.key.name</n>"},
            "response_map": {"$flow.key.ref": "data.ref", "$flow.key.second": "data.items.i[1]"},
        }
        execution = await run_flow(api, key, webhook_flow(widget))
    assert rec.received[0].body.decode() == "<n>Zoë &quot;Z&quot; &lt;&amp;&gt;</n>"
    assert execution["variables"]["$flow.key.ref"] == "X9"
    assert execution["variables"]["$flow.key.second"] == "b"


async def test_plain_http_is_refused_unless_the_account_enables_it(api: Any) -> None:
    _, key = await api.account(http_enabled=False)
    async with receiver() as rec:
        widget = {"webhook": "custom", "request": {"url": rec.url}}
        execution = await run_flow(api, key, webhook_flow(widget))
    assert rec.received == []
    assert execution["variables"]["$flow.key.error_reason"] == "HTTP_DISABLED"
    assert execution["variables"]["$flow.key.path"] == "failure"


async def test_unknown_saved_webhook_fails_by_exit_1(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    execution = await run_flow(api, key, webhook_flow({"webhook": "nope"}))
    assert execution["variables"]["$flow.key.error_reason"] == "WEBHOOK_NOT_FOUND"
    assert execution["variables"]["$flow.key.path"] == "failure"
    # like any failed call: exit 1 is the flow's to handle, the execution itself completes
    assert execution["status"] == "COMPLETED"


async def test_fire_and_forget_moves_on_and_delivers_signed(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        rec.delay_s = 0.3
        widget = {
            "webhook": "custom",
            "wait_for_response": False,
            "request": {"url": rec.url, "body_type": "JSON", "body": {"n": "$flow.key.amount"}},
        }
        execution = await run_flow(api, key, webhook_flow(widget))
        assert execution["variables"]["$flow.key.path"] == "success"
        got = (await rec.wait_for(1))[0]
    assert got.json() == {"n": 42}
    assert got.headers["webhook-signature"].startswith("v1,")
    step = next(s for s in execution["steps"] if s["widget"] == "call")
    status, delivery = await api.request("GET", f"/v1/deliveries/{step['delivery']}", key=key)
    assert status == 200
    assert delivery["execution_uuid"] == execution["uuid"]


async def test_widget_config_errors_are_reported_with_paths(api: Any) -> None:
    _, key = await api.account()
    bad = webhook_flow({"webhook": "custom"})
    status, body = await api.request("POST", "/v1/flows", key=key, json=bad)
    assert status == 422
    assert body["error"]["code"] == "INVALID_FLOW"
    assert any(d["path"].startswith("$.widgets.call") for d in body["error"]["details"])
