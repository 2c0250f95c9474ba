"""Calls on the simulator, end to end through the API: an inbound IVR, live key presses,
the caller hanging up mid-menu, an outbound call with alternates. What a receiver gets in
the flow-complete payload is the proof."""

from __future__ import annotations

from typing import Any

import pytest

from channels.conftest import (
    create_flow,
    default_webhook,
    flow_complete,
    wait_in,
    wait_status,
)
from support.app import error_code
from support.receiver import receiver

DID = "+912240001234"
CALLER = "+919812345678"


def ivr(hook_url: str, *, timeout_s: float = 5) -> dict[str, Any]:
    """Answer, a menu (1 sales, 2 support), tell the CRM the choice, hang up."""
    return {
        "name": "support_line",
        "type": "inbound",
        "dids": [DID],
        "webhook_enabled": True,
        "entry": {"start": "answer", "on_remote_hangup": "gone"},
        "widgets": {
            "answer": {"type": "answer_call", "next": "menu"},
            "menu": {
                "type": "menu",
                "text": "Press 1 for sales, 2 for support",
                "options": {"1": "sales", "2": "support"},
                "timeout_s": timeout_s,
                "retries": 0,
                "exits": {"1": "sales", "2": "support", "timeout": "bye"},
            },
            "sales": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.choice", "value": "sales"}],
                "next": "crm",
            },
            "support": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.choice", "value": "support"}],
                "next": "crm",
            },
            "crm": {
                "type": "webhook",
                "request": {
                    "method": "POST",
                    "url": hook_url,
                    "body_type": "JSON",
                    "body": {"caller": "$call.cli.number", "choice": "$flow.key.choice"},
                },
                "exits": {"0": "bye"},
            },
            "bye": {"type": "hangup"},
            "gone": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.hung_up", "value": "yes"}],
            },
        },
    }


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_inbound_ivr_press_2_reaches_the_webhook_and_the_payload_has_the_key(
    sim_api: Any,
) -> None:
    api = sim_api
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        await default_webhook(api, key, rec.url)
        await create_flow(api, key, ivr(rec.url))
        status, call = await api.request(
            "POST",
            "/v1/sim/calls",
            key=key,
            json={
                "cli": CALLER,
                "dnis": DID,
                "script": {"digits": [{"key": "2", "after_ms": 2000}]},
            },
        )
        assert status == 202, call
        done = await wait_status(api, key, call["uuid"], ("COMPLETED", "FAILED"))
        received = await rec.wait_for(2)
    assert done["status"] == "COMPLETED", done
    crm = [r.json() for r in received if b"choice" in r.body and b"phonon-uuid" not in r.body]
    assert crm == [{"caller": "919812345678", "choice": "support"}]
    payload = flow_complete(received)
    assert payload["phonon-uuid"] == call["uuid"]
    [leg] = payload["callDetails"]
    assert leg["incoming"] is True
    assert leg["calleeNumber"] == "919812345678"
    assert leg["didNumber"] == "912240001234"
    assert [(d["key"], d["label"]) for d in leg["dtmfPressesd"]] == [("2", "support")]
    assert leg["hangupCause"] == "16" and leg["remoteHangup"] is False
    assert leg["cdrId"].startswith(call["call_id"])
    assert "connectTime" in leg and int(leg["duration"]) > 0
    assert {"name": "$flow.key.choice", "value": "support"} in payload["keys"]


async def test_a_key_posted_to_a_live_call_wakes_the_waiting_menu(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        await create_flow(api, key, ivr(rec.url, timeout_s=600))
        _, call = await api.request(
            "POST", "/v1/sim/calls", key=key, json={"cli": CALLER, "dnis": DID}
        )
        await wait_in(api, key, call["uuid"], "menu")
        status, _ = await api.request(
            "POST", f"/v1/sim/calls/{call['call_id']}/dtmf", key=key, json={"digits": "1"}
        )
        assert status == 202
        done = await wait_status(api, key, call["uuid"], ("COMPLETED", "FAILED"))
    assert done["variables"]["$flow.key.choice"] == "sales"
    assert [d["key"] for d in done["call_details"][0]["dtmf"]] == ["1"]
    status, body = await api.request(
        "POST", f"/v1/sim/calls/{call['call_id']}/dtmf", key=key, json={"digits": "2"}
    )
    assert status == 409 and error_code(body) == "CALL_ENDED"


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_caller_hanging_up_mid_menu_runs_on_remote_hangup(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        await default_webhook(api, key, rec.url)
        await create_flow(api, key, ivr(rec.url, timeout_s=600))
        _, call = await api.request(
            "POST", "/v1/sim/calls", key=key, json={"cli": CALLER, "dnis": DID}
        )
        await wait_in(api, key, call["uuid"], "menu")
        status, _ = await api.request("POST", f"/v1/sim/calls/{call['call_id']}/hangup", key=key)
        assert status == 202
        done = await wait_status(api, key, call["uuid"], ("COMPLETED", "FAILED"))
        payload = flow_complete(await rec.wait_for(1))
    assert done["status"] == "COMPLETED"
    assert done["variables"]["$flow.key.hung_up"] == "yes"
    assert "$flow.key.choice" not in done["variables"]  # the menu never chose
    assert [s["widget"] for s in done["steps"]][-2:] == ["menu", "gone"]
    [leg] = payload["callDetails"]
    assert leg["remoteHangup"] is True and leg["hangupCause"] == "16"
    assert leg["dtmfPressesd"] == []


async def test_scripted_hangup_with_no_on_remote_hangup_ends_the_flow(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account(http_enabled=True)
    doc = ivr("http://127.0.0.1:9/unused", timeout_s=600)
    doc["entry"].pop("on_remote_hangup")
    del doc["widgets"]["gone"]
    await create_flow(api, key, doc)
    _, call = await api.request(
        "POST",
        "/v1/sim/calls",
        key=key,
        json={"cli": CALLER, "dnis": DID, "script": {"hangup_after_s": 3}},
    )
    done = await wait_status(api, key, call["uuid"], ("COMPLETED", "FAILED"))
    assert done["status"] == "COMPLETED"
    assert done["steps"][-1]["exit"] == "_remote_hangup"
    assert done["call_details"][0]["remote_hangup"] is True


async def test_a_call_to_a_did_no_flow_lists_is_404(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account()
    status, body = await api.request(
        "POST", "/v1/sim/calls", key=key, json={"cli": CALLER, "dnis": "+912249999999"}
    )
    assert status == 404 and error_code(body) == "NO_FLOW_FOR_DID"
    status, body = await api.request(
        "POST", "/v1/sim/calls", key=key, json={"cli": "not a number", "dnis": DID}
    )
    assert status == 422 and error_code(body) == "INVALID_CONTACT_NUMBER"
    status, body = await api.request("POST", "/v1/sim/calls/no-such-call/hangup", key=key)
    assert status == 404 and error_code(body) == "CALL_NOT_FOUND"


def outbound(hook_url: str) -> dict[str, Any]:
    return {
        "name": "reminder",
        "type": "outbound",
        "webhook_enabled": True,
        "entry": {"start": "dial"},
        "widgets": {
            "dial": {
                "type": "make_call",
                "alternates": ["+919876500002"],
                "ring_timeout_s": 20,
                "exits": {"answered": "say", "busy": "missed", "no_answer": "missed"},
            },
            "say": {"type": "play", "text": "Your order $flow.key.order is ready", "next": "bye"},
            "bye": {"type": "hangup"},
            "missed": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.missed", "value": "yes"}],
            },
        },
    }


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_outbound_busy_first_number_then_the_alternate_answers(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account(http_enabled=True)
    script = {
        "calls": {
            "919876500001": {"outcome": "busy", "answer_after_ms": 800},
            "919876500002": {"outcome": "answer", "answer_after_ms": 1500},
        }
    }
    status, settings = await api.request(
        "PUT", "/v1/account/settings", key=key, json={"channels": {"simulator": script}}
    )
    assert status == 200, settings
    assert settings["channels"]["voice"] == "simulator"
    async with receiver() as rec:
        await default_webhook(api, key, rec.url)
        flow_id = await create_flow(api, key, outbound(rec.url))
        status, started = await api.request(
            "POST",
            f"/v1/flows/{flow_id}/executions",
            key=key,
            json={
                "version": "test",
                "dnis": "9876500001",
                "cli": "+912240001234",
                "variables": {"$flow.key.order": "4711"},
            },
        )
        assert status == 202, started
        done = await wait_status(api, key, started["uuid"], ("COMPLETED", "FAILED"))
        payload = flow_complete(await rec.wait_for(1))
    assert done["status"] == "COMPLETED", done
    assert "$flow.key.missed" not in done["variables"]
    played = [s.get("played") for s in done["steps"] if s["widget"] == "say"]
    assert played == [["Your order 4711 is ready"]]
    busy, answered = payload["callDetails"]
    assert busy["calleeNumber"] == "919876500001" and busy["hangupCause"] == "17"
    assert "connectTime" not in busy and busy["duration"] == "0"
    assert answered["calleeNumber"] == "919876500002" and answered["hangupCause"] == "16"
    assert answered["didNumber"] == "912240001234" and answered["calleeType"] == "VISITOR"
    assert "connectTime" in answered and answered["incoming"] is False
    assert done["variables"]["$call.dnis.number"] == "919876500002"
    assert done["variables"]["$call.isdn"] == "16"


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_outbound_nobody_answers_any_number(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account(http_enabled=True)
    script = {"default": {"outcome": "no_answer"}}
    status, _ = await api.request(
        "PUT", "/v1/account/settings", key=key, json={"channels": {"simulator": script}}
    )
    assert status == 200
    doc = outbound("http://127.0.0.1:9/unused")
    doc["widgets"]["dial"]["ring_timeout_s"] = 2
    flow_id = await create_flow(api, key, doc)
    _, started = await api.request(
        "POST",
        f"/v1/flows/{flow_id}/executions",
        key=key,
        json={"version": "test", "dnis": "9876500001", "cli": "+912240001234"},
    )
    done = await wait_status(api, key, started["uuid"], ("COMPLETED", "FAILED"))
    assert done["variables"]["$flow.key.missed"] == "yes"
    causes = [leg["hangup_cause"] for leg in done["call_details"]]
    assert causes == ["19", "19"]


async def test_account_settings_refuse_an_unknown_adapter(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account()
    status, body = await api.request(
        "PUT", "/v1/account/settings", key=key, json={"channels": {"voice": "acme-telco"}}
    )
    assert status == 422, body
    assert "acme-telco" in str(body)


async def call_in(api: Any, key: str, script: dict[str, Any]) -> dict[str, Any]:
    status, call = await api.request(
        "POST", "/v1/sim/calls", key=key, json={"cli": CALLER, "dnis": DID, "script": script}
    )
    assert status == 202, call
    return await wait_status(api, key, call["uuid"], ("COMPLETED", "FAILED"))


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_menu_replays_its_prompt_after_an_invalid_key(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account(http_enabled=True)
    doc = ivr("http://127.0.0.1:9/unused", timeout_s=600)
    doc["widgets"]["menu"]["retries"] = 1
    doc["widgets"]["crm"] = {"type": "end"}
    await create_flow(api, key, doc)
    digits = [{"key": "9", "after_ms": 1000}, {"key": "1", "after_ms": 2000}]
    done = await call_in(api, key, {"digits": digits})
    assert done["variables"]["$flow.key.choice"] == "sales"
    [leg] = done["call_details"]
    assert [(d["key"], d["label"]) for d in leg["dtmf"]] == [("9", ""), ("1", "sales")]
    assert leg["played"] == ["Press 1 for sales, 2 for support"] * 2


async def test_menu_out_of_retries_takes_the_invalid_exit(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account(http_enabled=True)
    doc = ivr("http://127.0.0.1:9/unused", timeout_s=600)
    doc["widgets"]["menu"]["exits"]["invalid"] = "gone"  # reuse: sets hung_up
    await create_flow(api, key, doc)
    done = await call_in(api, key, {"digits": "7"})
    assert done["variables"]["$flow.key.hung_up"] == "yes"
    assert [s["exit"] for s in done["steps"] if s["widget"] == "menu"][-1] == "invalid"


def collector(timeout_s: float = 5) -> dict[str, Any]:
    return {
        "name": "order_status",
        "type": "inbound",
        "dids": [DID],
        "entry": {"start": "answer"},
        "widgets": {
            "answer": {"type": "answer_call", "next": "ask"},
            "ask": {
                "type": "collect_digits",
                "text": "Enter your order number, then hash",
                "target": "$flow.key.order",
                "max_length": 8,
                "timeout_s": timeout_s,
                "exits": {"timeout": "none"},
                "next": "bye",
            },
            "none": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.order", "value": "none"}],
                "next": "bye",
            },
            "bye": {"type": "hangup"},
        },
    }


async def test_collect_digits_gathers_keys_until_the_terminator(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account()
    await create_flow(api, key, collector())
    done = await call_in(api, key, {"digits": "4711#9"})
    assert done["variables"]["$flow.key.order"] == "4711"
    [leg] = done["call_details"]
    assert [d["key"] for d in leg["dtmf"]] == ["4", "7", "1", "1", "#"]


async def test_collect_digits_keeps_what_came_before_the_pause(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account()
    await create_flow(api, key, collector(timeout_s=3))
    done = await call_in(api, key, {"digits": [{"key": "4", "after_ms": 500}]})
    assert done["variables"]["$flow.key.order"] == "4"


async def test_collect_digits_without_any_key_times_out(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account()
    await create_flow(api, key, collector(timeout_s=1))
    done = await call_in(api, key, {})
    assert done["variables"]["$flow.key.order"] == "none"
    assert [s["exit"] for s in done["steps"] if s["widget"] == "ask"][-1] == "timeout"
