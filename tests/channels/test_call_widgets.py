"""record, transfer and agent_connect on the simulator: a message left on an inbound call,
a caller handed to another number, a caller connected to the free agent idle longest."""

from __future__ import annotations

from typing import Any

import pytest

from channels.conftest import create_flow, default_webhook, flow_complete, wait_status
from support.receiver import receiver

DID = "+912240001234"
CALLER = "+919812345678"


def inbound(widgets: dict[str, Any], **entry: str) -> dict[str, Any]:
    return {
        "name": "inbound",
        "type": "inbound",
        "dids": [DID],
        "webhook_enabled": True,
        "entry": {"start": "answer", **entry},
        "widgets": {"answer": {"type": "answer_call", "next": "main"}, **widgets},
    }


def note(value: str, next_: str | None = None) -> dict[str, Any]:
    widget: dict[str, Any] = {
        "type": "store_variable",
        "assignments": [{"variable": "$flow.key.outcome", "value": value}],
    }
    if next_:
        widget["next"] = next_
    return widget


async def call_in(api: Any, key: str, script: dict[str, Any]) -> tuple[dict[str, Any], str]:
    status, call = await api.request(
        "POST", "/v1/sim/calls", key=key, json={"cli": CALLER, "dnis": DID, "script": script}
    )
    assert status == 202, call
    done = await wait_status(api, key, call["uuid"], ("COMPLETED", "FAILED"))
    return done, str(call["call_id"])


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_record_ends_on_the_finish_key_and_reaches_recording_urls(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account(http_enabled=True)
    widgets = {
        "main": {
            "type": "record",
            "text": "Leave your message after the tone, then press hash",
            "max_seconds": 600,
            "file_name": "message-${call.cli.number}.wav",
            "next": "bye",
        },
        "bye": {"type": "hangup"},
    }
    async with receiver() as rec:
        await default_webhook(api, key, rec.url)
        await create_flow(api, key, inbound(widgets))
        done, call_id = await call_in(api, key, {"digits": [{"key": "#", "after_ms": 1500}]})
        payload = flow_complete(await rec.wait_for(1))
    assert done["status"] == "COMPLETED", done
    assert payload["recordingUrls"] == [
        {
            "recordedFileName": "message-919812345678.wav",
            "recordedFilePublicPath": f"sim://recordings/{call_id}/message-919812345678.wav",
        }
    ]
    assert [d["key"] for d in payload["callDetails"][0]["dtmfPressesd"]] == ["#"]


async def test_a_hangup_while_recording_keeps_the_recording(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account()
    widgets = {
        "main": {"type": "record", "max_seconds": 600, "next": "bye"},
        "bye": {"type": "hangup"},
        "gone": note("hung up"),
    }
    await create_flow(api, key, inbound(widgets, on_remote_hangup="gone"))
    done, _ = await call_in(api, key, {"hangup_after_s": 2})
    assert done["variables"]["$flow.key.outcome"] == "hung up"
    assert len(done["recordings"]) == 1
    assert done["call_details"][0]["remote_hangup"] is True


async def test_transfer_connects_the_caller_to_another_number(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account(http_enabled=True)
    script = {"calls": {"919876500002": {"answer_after_ms": 1000}}}
    await api.request(
        "PUT", "/v1/account/settings", key=key, json={"channels": {"simulator": script}}
    )
    widgets = {
        "main": {
            "type": "transfer",
            "to": "+919876500002",
            "exits": {"answered": "done", "busy": "missed", "no_answer": "missed"},
        },
        "done": note("transferred"),
        "missed": note("missed"),
    }
    async with receiver() as rec:
        await default_webhook(api, key, rec.url)
        await create_flow(api, key, inbound(widgets))
        done, _ = await call_in(api, key, {})
        payload = flow_complete(await rec.wait_for(1))
    assert done["variables"]["$flow.key.outcome"] == "transferred"
    caller, colleague = payload["callDetails"]
    assert caller["incoming"] is True and caller["calleeType"] == "VISITOR"
    assert colleague["calleeNumber"] == "919876500002" and colleague["calleeType"] == "HARD_PHONE"
    assert "connectTime" in colleague and colleague["incoming"] is False
    assert done["variables"]["$call.cli.number"] == "919812345678"  # still the caller's call


async def test_agent_connect_rings_the_longest_idle_free_agent(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account(http_enabled=True)
    for name, cli, paused in (("Ravi", "+919876500005", True), ("Asha", "+919876500003", False)):
        status, body = await api.request(
            "POST", "/v1/agents", key=key, json={"name": name, "cli": cli, "paused": paused}
        )
        assert status == 201, body
    widgets = {
        "main": {
            "type": "agent_connect",
            "exits": {"connected": "done", "no_agent": "none", "no_answer": "none"},
        },
        "done": note("with $call.agent.name"),
        "none": note("no agent"),
    }
    await create_flow(api, key, inbound(widgets))
    done, _ = await call_in(api, key, {})
    assert done["variables"]["$flow.key.outcome"] == "with Asha", done
    caller, agent = done["call_details"]
    assert caller["incoming"] is True
    assert agent["callee"] == "919876500003" and agent["callee_type"] == "HARD_PHONE"
    assert agent["connect"] and agent["hangup_cause"] == "16"
    _, agents = await api.request("GET", "/v1/agents", key=key)
    assert all(a["busy_with"] is None for a in agents["agents"])  # freed when the flow ended


async def test_agent_connect_without_a_free_agent_takes_no_agent(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account()
    widgets = {
        "main": {
            "type": "agent_connect",
            "queue_timeout_s": 1,
            "retry_every_s": 0.5,
            "exits": {"connected": "done", "no_agent": "none"},
        },
        "done": note("connected"),
        "none": note("no agent"),
    }
    await create_flow(api, key, inbound(widgets))
    done, _ = await call_in(api, key, {})
    assert done["variables"]["$flow.key.outcome"] == "no agent"
    assert len(done["call_details"]) == 1
