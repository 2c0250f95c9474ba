"""Mistakes a first-time API user makes get an answer that says what to do: a body
posted without ``Content-Type: application/json`` (``curl -d`` without ``-H`` sends a
form), a POST without a body, a mistyped path. Same codes as before; the trigger's fast
path answers as FastAPI does."""

from __future__ import annotations

from typing import Any

from support.app import Api, error_code
from support.flows import two_step_flow

FORM = "application/x-www-form-urlencoded"


async def test_a_webhook_posted_as_a_form_is_told_to_send_json(api: Api) -> None:
    _, key = await api.account()
    body = b'{"name": "mine", "url": "http://127.0.0.1:9/hook"}'
    status, answer = await api.request(
        "POST", "/v1/webhooks", key=key, data=body, headers={"Content-Type": FORM}
    )
    assert status == 422 and error_code(answer) == "VALIDATION_FAILED"
    assert "Content-Type: application/json" in answer["error"]["message"]
    assert answer["error"]["details"][0]["path"] == "$"
    assert "Content-Type: application/json" in answer["error"]["details"][0]["message"]
    assert (await api.request("GET", "/v1/webhooks", key=key))[1] == {"webhooks": []}


async def test_a_trigger_posted_as_a_form_is_told_to_send_json(api: Api) -> None:
    _, key = await api.account()
    status, flow = await api.request("POST", "/v1/flows", key=key, json=two_step_flow("f"))
    assert status == 201, flow
    path = f"/v1/flows/{flow['flow_id']}/executions"
    raw = b'{"version": "test"}'
    status, answer = await api.request(
        "POST", path, key=key, data=raw, headers={"Content-Type": FORM}
    )
    assert status == 422 and error_code(answer) == "VALIDATION_FAILED"
    assert "Content-Type: application/json" in answer["error"]["message"]
    # the same body as JSON runs: the message named the only thing that was wrong
    status, started = await api.request(
        "POST", path, key=key, data=raw, headers={"Content-Type": "application/json"}
    )
    assert status == 202, started


async def test_json_that_is_not_an_object_keeps_the_plain_message(api: Api) -> None:
    """Sent as JSON, a body of the wrong shape is a validation error like any other."""
    _, key = await api.account()
    answer: Any
    status, answer = await api.request("POST", "/v1/webhooks", key=key, json=[1, 2])
    assert status == 422 and error_code(answer) == "VALIDATION_FAILED"
    assert answer["error"]["message"] == "the request is not valid"


async def test_a_post_without_a_body_is_told_to_send_one(api: Api) -> None:
    """``curl -X POST`` alone: the answer says a JSON body is needed (``{}`` at least)."""
    _, key = await api.account()
    status, flow = await api.request("POST", "/v1/flows", key=key, json=two_step_flow("f"))
    assert status == 201, flow
    for path in (f"/v1/flows/{flow['flow_id']}/executions", "/v1/webhooks"):
        status, answer = await api.request("POST", path, key=key)
        assert status == 422 and error_code(answer) == "VALIDATION_FAILED", answer
        assert "needs a JSON body" in answer["error"]["message"], path
        assert answer["error"]["details"] == [{"path": "$", "message": answer["error"]["message"]}]


async def test_a_path_that_is_no_endpoint_is_told_where_the_endpoints_are(api: Api) -> None:
    _, key = await api.account()
    status, answer = await api.request("GET", "/v1/flow", key=key)  # /v1/flows, mistyped
    assert status == 404 and error_code(answer) == "NOT_FOUND"
    assert answer["error"]["message"].startswith("no GET /v1/flow here")
    assert "/docs" in answer["error"]["message"]
    assert (await api.request("GET", "/docs"))[0] == 200  # where it points
