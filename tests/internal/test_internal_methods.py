"""The four internal methods called from a running flow through the webhook widget (a saved
webhook whose URL is the internal endpoint), and their documented variables."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from internal_factories import greet_flow, make_flow, save_internal_webhook

from flowhook.engine.context import StepContext
from flowhook.engine.state import ExecutionState
from flowhook.internal import INTERNAL_PATH, METHOD_NAMES, InternalMethodError, invoke
from support.app import running_api
from support.app import settings_for as settings_for


def call(widget_id: str, method: str, then: str | None) -> dict[str, Any]:
    widget: dict[str, Any] = {
        "type": "webhook",
        "webhook": "internal",
        "method": method,
        "exits": {"1": "failed"},
    }
    if then:
        widget["next"] = then
    return {widget_id: widget}


def prepare(widget_id: str, then: str, **values: Any) -> dict[str, Any]:
    return {
        widget_id: {
            "type": "store_variable",
            "assignments": [{"variable": k, "value": v} for k, v in values.items()],
            "next": then,
        }
    }


FAILED = {
    "failed": {
        "type": "store_variable",
        "assignments": [{"variable": "$flow.key.failed_at", "value": "$flow.key.error_reason"}],
    }
}


def every_method_flow() -> dict[str, Any]:
    widgets: dict[str, Any] = {
        **prepare("p1", "short", **{"$flow.syskey.longUrl": "https://example.com/offer?id=7"}),
        **call("short", "shortURL", "p2"),
        **prepare(
            "p2",
            "create",
            **{
                "$flow.syskey.apiVersion": "TEST",
                "$flow.syskey.clientID": "client-9",
                "$flow.syskey.delayMinutes": 0,
                "$flow.syskey.contactNumbers": "9876543210, 9810012345",
            },
        ),
        **call("create", "createOutbound", "p3"),
        **prepare(
            "p3",
            "prefs",
            **{"$user.syskey.contactNumber": "9876543210", "$user.key.language": "hindi"},
        ),
        **call("prefs", "updateUserPreferences", "p4"),
        **prepare("p4", "pause", **{"$flow.key.pause": "true", "$flow.key.cli": "+91 98100 12345"}),
        **call("pause", "updatePauseStatusForCLI", None),
        **FAILED,
    }
    return {
        "name": "every_method",
        "type": "outbound",
        "entry": {"start": "p1"},
        "widgets": widgets,
    }


async def trigger(api: Any, key: str, flow_id: str, **variables: Any) -> dict[str, Any]:
    status, body = await api.request(
        "POST",
        f"/v1/flows/{flow_id}/executions",
        key=key,
        json={"version": "test", "variables": variables},
    )
    assert status == 202, body
    done: dict[str, Any] = await api.wait_for(body["uuid"], key)
    return done


def test_the_interface_the_webhook_widget_relies_on() -> None:
    assert METHOD_NAMES == (
        "createOutbound",
        "shortURL",
        "updateUserPreferences",
        "updatePauseStatusForCLI",
    )
    prod = INTERNAL_PATH.search("/centraloutboundwebhook-v1/prod/")
    test = INTERNAL_PATH.search("/centraloutboundwebhook-v1/test")
    assert prod is not None and prod.group(1) == "prod"
    assert test is not None and test.group(1) == "test"
    assert INTERNAL_PATH.search("/centraloutboundwebhook-v1/dev/") is None


async def test_a_flow_calls_every_internal_method(api: Any) -> None:
    _, key = await api.account()  # HTTP is not enabled: internal calls need no network
    await save_internal_webhook(api, key)
    target = await make_flow(api, key, greet_flow("target"))
    status, agent = await api.request(
        "POST", "/v1/agents", key=key, json={"name": "Ravi", "cli": "09810012345"}
    )
    assert status == 201, agent
    caller = await make_flow(api, key, every_method_flow())

    execution = await trigger(
        api,
        key,
        caller["flow_id"],
        **{
            "$flow.syskey.securityID": target["security_id"],
            "$flow.syskey.flowID": target["flow_id"],
            "$flow.key.name": "Asha",
        },
    )

    assert execution["status"] == "COMPLETED", execution
    variables = execution["variables"]
    assert "$flow.key.failed_at" not in variables, variables
    # shortURL
    short = variables["$flow.key.shortUrl"]
    assert short.startswith(api.settings.base_url + "/")
    code = short.rsplit("/", 1)[1]
    assert len(code) == 8 and code.isalnum()
    # createOutbound: one execution per number, the caller's $flow.key values passed on
    assert variables["$flow.key.obdResponseCode"] == 200
    request_id = variables["$flow.key.obdReqID"]
    first = await api.wait_for(variables["$flow.key.obdPhononUUID"], key)
    assert first["request_id"] == request_id
    assert first["variables"]["$flow.key.greeting"] == "hi Asha"
    assert first["variables"]["$flow.syskey.clientID"] == "client-9"
    _, listed = await api.request("GET", f"/v1/executions?request_id={request_id}", key=key)
    assert len(listed["executions"]) == 2
    _, summary = await api.request("GET", f"/v1/requests/{request_id}", key=key)
    assert summary["source"] == "createOutbound"
    assert summary["records_valid"] == 2
    # updateUserPreferences
    assert variables["$flow.key.user_preferences_update"] is True
    # updatePauseStatusForCLI
    assert variables["$flow.key.cli_pause_update"] is True
    _, paused = await api.request("GET", f"/v1/agents/{agent['id']}", key=key)
    assert paused["paused"] is True
    # the widget's own response variables
    assert variables["$flow.key.response_status"] == "SUCCESS"
    assert variables["$flow.key.response_error"] is False


async def test_failures_take_exit_1_with_the_error_reason_and_false(api: Any) -> None:
    _, key = await api.account()
    await save_internal_webhook(api, key)
    cases: dict[str, tuple[dict[str, str], str, dict[str, Any]]] = {
        "updatePauseStatusForCLI": (
            {"$flow.key.pause": "true", "$flow.key.cli": "9812345678"},
            "AGENT_NOT_FOUND",
            {"$flow.key.cli_pause_update": False},
        ),
        "updateUserPreferences": (
            {"$user.syskey.contactNumber": "12"},
            "INVALID_CONTACT_NUMBER",
            {"$flow.key.user_preferences_update": False},
        ),
        "createOutbound": (
            {
                "$flow.syskey.flowID": "NOPE0000",
                "$flow.syskey.securityID": "x",
                "$flow.syskey.contactNumbers": "9876543210",
            },
            "INVALID_FLOW_ID",
            {"$flow.key.obdResponseCode": 301},
        ),
        "shortURL": ({"$flow.syskey.longUrl": "javascript:alert(1)"}, "INVALID_URL", {}),
    }
    for method, (values, reason, expected) in cases.items():
        flow = {
            "name": f"fail_{method}",
            "type": "outbound",
            "entry": {"start": "p"},
            "widgets": {**prepare("p", "c", **values), **call("c", method, None), **FAILED},
        }
        created = await make_flow(api, key, flow)
        execution = await trigger(api, key, created["flow_id"])
        variables = execution["variables"]
        assert variables["$flow.key.failed_at"] == reason, (method, variables)
        assert variables["$flow.key.response_status"] == "FAILED"
        for name, value in expected.items():
            assert variables[name] == value, (method, name)


async def test_create_outbound_only_reaches_flows_of_its_own_account(api: Any) -> None:
    _, key = await api.account("a")
    _, other_key = await api.account("b")
    foreign = await make_flow(api, other_key, greet_flow("foreign"))
    await save_internal_webhook(api, key)
    flow = {
        "name": "reach_out",
        "type": "outbound",
        "entry": {"start": "p"},
        "widgets": {
            **prepare("p", "c", **{"$flow.syskey.contactNumbers": "9876543210"}),
            **call("c", "createOutbound", None),
            **FAILED,
        },
    }
    created = await make_flow(api, key, flow)
    execution = await trigger(
        api,
        key,
        created["flow_id"],
        **{
            "$flow.syskey.flowID": foreign["flow_id"],
            "$flow.syskey.securityID": foreign["security_id"],
        },
    )
    assert execution["variables"]["$flow.key.failed_at"] == "INVALID_FLOW_ID"


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_create_outbound_delays_the_start_by_delay_minutes(api_with: Any) -> None:
    async with api_with(time_scale=0.02) as api:  # one minute lasts 1.2 s
        _, key = await api.account()
        target = await make_flow(api, key, greet_flow("later"))
        ctx = await _context(api, key, target, delayMinutes=1)
        started = time.time()
        variables = await invoke("createOutbound", ctx, "test")
        uuid_ = variables["$flow.key.obdPhononUUID"]
        _, pending = await api.request("GET", f"/v1/executions/{uuid_}", key=key)
        assert pending["status"] == "PENDING"
        done = await api.wait_for(uuid_, key, timeout=10)
        assert done["started_at"] - started >= 1.1


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_a_create_outbound_delay_survives_a_restart(sqlite_url: str, tmp_path: Any) -> None:
    settings = settings_for(sqlite_url, tmp_path, time_scale=0.02)
    async with running_api(settings) as api:
        _, key = await api.account()
        target = await make_flow(api, key, greet_flow("later"))
        ctx = await _context(api, key, target, delayMinutes=1)
        variables = await invoke("createOutbound", ctx, "test")
    async with running_api(settings) as api:
        done = await api.wait_for(variables["$flow.key.obdPhononUUID"], key, timeout=10)
        assert done["variables"]["$flow.key.greeting"] == "hi Asha"


async def test_create_outbound_replayed_by_the_same_step_starts_nothing_twice(api: Any) -> None:
    _, key = await api.account()
    target = await make_flow(api, key, greet_flow("once"))
    ctx = await _context(api, key, target, contactNumbers="9876543210 9810012345")
    first = await invoke("createOutbound", ctx, "prod")
    again = await invoke("createOutbound", ctx, "prod")  # same execution, widget and step
    assert first == again
    _, listed = await api.request(
        "GET", f"/v1/executions?request_id={first['$flow.key.obdReqID']}", key=key
    )
    assert len(listed["executions"]) == 2
    ctx.state.step_count += 1  # a later step is a new request
    later = await invoke("createOutbound", ctx, "prod")
    assert later["$flow.key.obdReqID"] != first["$flow.key.obdReqID"]


async def test_create_outbound_uses_the_stage_when_no_api_version_is_set(api: Any) -> None:
    _, key = await api.account()
    target = await make_flow(api, key, greet_flow("staged"))  # unpublished: no prod version
    ctx = await _context(api, key, target)
    del ctx.state.variables["flow.syskey.apiVersion"]
    with pytest.raises(InternalMethodError) as caught:
        await invoke("createOutbound", ctx, "prod")
    assert caught.value.code == "INVALID_FLOW_VERSION"
    assert ctx.get("$flow.key.obdResponseCode") == 304
    ok = await invoke("createOutbound", ctx, "test")
    assert ok["$flow.key.obdResponseCode"] == 200


async def test_an_unknown_method_is_refused(api: Any) -> None:
    _, key = await api.account()
    target = await make_flow(api, key)
    ctx = await _context(api, key, target)
    with pytest.raises(InternalMethodError) as caught:
        await invoke("deleteEverything", ctx, "prod")
    assert caught.value.code == "UNKNOWN_METHOD"


async def _context(api: Any, key: str, target: dict[str, Any], **syskeys: Any) -> StepContext:
    """A context as the webhook widget would pass it, over the server's own services."""
    _, settings = await api.request("GET", "/v1/account/settings", key=key)
    account = await api.runtime.catalog.account(settings["account_id"])
    state = ExecutionState(
        uuid=str(uuid.uuid4()),
        account_id=account.id,
        flow_id="caller00",
        version="test",
        request_id=str(uuid.uuid4()),
        started=True,
    )
    values = {
        "apiVersion": "TEST",
        "securityID": target["security_id"],
        "flowID": target["flow_id"],
        "contactNumbers": "9876543210",
        **syskeys,
    }
    for name, value in values.items():
        state.variables[f"flow.syskey.{name}"] = value
    state.variables["flow.key.name"] = "Asha"
    return StepContext(state, "call", account.info(), api.runtime.services)
