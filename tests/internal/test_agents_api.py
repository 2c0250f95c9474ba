"""Direct-dial agents through the API, and dialer flows that allot them with the
``agent_allot`` widget: pause/unpause, the queue and its timeout, release at the end."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from internal_factories import make_flow

DIAL = "/kairos-apis/outbounddialer/create"


def dialer_flow(
    name: str = "dial",
    *,
    hold_s: float = 0,
    queue_timeout_s: float = 10,
    retry_every_s: float = 5,
) -> dict[str, Any]:
    """Allot an agent, note its number, hold the agent for a while, end (which frees it)."""
    widgets: dict[str, Any] = {
        "allot": {
            "type": "agent_allot",
            "queue_timeout_s": queue_timeout_s,
            "retry_every_s": retry_every_s,
            "exits": {"0": "note", "1": "none"},
        },
        "note": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.agent", "value": "$call.agent.dnis.number"}],
            "next": "hold" if hold_s else None,
        },
        "none": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.agent", "value": "none"}],
        },
    }
    if hold_s:
        widgets["hold"] = {"type": "delay", "seconds": hold_s, "next": "release"}
        widgets["release"] = {"type": "agent_release", "next": "after"}
        widgets["after"] = {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.released", "value": True}],
        }
    return {"name": name, "type": "dialer", "entry": {"start": "allot"}, "widgets": widgets}


async def dial(api: Any, flow: dict[str, Any], number: str = "9876543210") -> str:
    status, answer = await api.request(
        "POST",
        DIAL,
        json={
            "api-version": "TEST",
            "security-id": flow["security_id"],
            "flow-id": flow["flow_id"],
            # a fresh identifier each time: an identical body would be a repeated checksum
            "calls": [{"client-identifier": uuid.uuid4().hex, "contact-numbers": [number]}],
        },
    )
    assert status == 200 and answer["api-response-code"] == 200, answer
    return str(answer["call-details"][0]["phonon-uuid"])


async def add_agent(api: Any, key: str, name: str, cli: str) -> dict[str, Any]:
    status, agent = await api.request(
        "POST", "/v1/agents", key=key, json={"name": name, "cli": cli}
    )
    assert status == 201, agent
    return dict(agent)


async def test_agents_are_created_listed_patched_and_deleted(api: Any) -> None:
    _, key = await api.account()
    _, other = await api.account("other")
    asha = await add_agent(api, key, "Asha", "098100 12345")
    assert asha["cli"] == "919810012345"
    assert (asha["paused"], asha["status"], asha["busy_with"]) == (False, "idle", None)
    status, body = await api.request(
        "POST", "/v1/agents", key=key, json={"name": "Dup", "cli": "+91 98100-12345"}
    )
    assert (status, body["error"]["code"]) == (409, "AGENT_EXISTS")
    status, body = await api.request("POST", "/v1/agents", key=key, json={"name": "X", "cli": "12"})
    assert (status, body["error"]["code"]) == (422, "INVALID_CONTACT_NUMBER")
    status, body = await api.request(
        "POST", "/v1/agents", key=key, json={"name": "A\u0000", "cli": "9810012399"}
    )
    assert (status, body["error"]["code"]) == (422, "NUL_NOT_ALLOWED")
    await add_agent(api, other, "Other", "9810012345")  # unique per account only

    status, patched = await api.request(
        "PATCH", f"/v1/agents/{asha['id']}", key=key, json={"paused": True, "name": "Asha K"}
    )
    assert status == 200
    assert (patched["paused"], patched["status"], patched["name"]) == (True, "paused", "Asha K")
    _, listed = await api.request("GET", "/v1/agents", key=key)
    assert [a["id"] for a in listed["agents"]] == [asha["id"]]
    status, _ = await api.request("GET", f"/v1/agents/{asha['id']}", key=other)
    assert status == 404
    status, _ = await api.request("PATCH", f"/v1/agents/{asha['id']}", key=other, json={})
    assert status == 404
    status, _ = await api.request("DELETE", f"/v1/agents/{asha['id']}", key=key)
    assert status == 204
    status, _ = await api.request("GET", f"/v1/agents/{asha['id']}", key=key)
    assert status == 404


async def test_pause_and_unpause_change_which_agent_a_dialer_call_gets(api: Any) -> None:
    _, key = await api.account()
    asha = await add_agent(api, key, "Asha", "9810012345")  # idle longest
    ravi = await add_agent(api, key, "Ravi", "9810012346")
    flow = await make_flow(api, key, dialer_flow())

    first = await api.wait_for(await dial(api, flow), key)
    assert first["variables"]["$call.agent.dnis.number"] == "919810012345"
    assert first["variables"]["$call.agent.id"] == asha["id"]

    await api.request("PATCH", f"/v1/agents/{ravi['id']}", key=key, json={"paused": True})
    await api.request("PATCH", f"/v1/agents/{asha['id']}", key=key, json={"paused": True})
    await api.request("PATCH", f"/v1/agents/{ravi['id']}", key=key, json={"paused": False})
    second = await api.wait_for(await dial(api, flow), key)
    assert second["variables"]["$flow.key.agent"] == "919810012346"  # Asha is paused

    await api.request("PATCH", f"/v1/agents/{ravi['id']}", key=key, json={"paused": True})
    await api.request("PATCH", f"/v1/agents/{asha['id']}", key=key, json={"paused": False})
    third = await api.wait_for(await dial(api, flow), key)
    assert third["variables"]["$flow.key.agent"] == "919810012345"
    # every call ended, so no agent is left busy
    _, listed = await api.request("GET", "/v1/agents", key=key)
    assert [a["busy_with"] for a in listed["agents"]] == [None, None]


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_a_call_waits_for_a_busy_agent_and_gets_it_when_freed(api: Any) -> None:
    _, key = await api.account()
    await add_agent(api, key, "Asha", "9810012345")
    holding = await make_flow(api, key, dialer_flow("holding", hold_s=0.8))
    waiting = await make_flow(api, key, dialer_flow("waiting", retry_every_s=30))

    first = await dial(api, holding)
    await api.wait_for(first, key, statuses=("WAITING",))  # holding the agent
    second = await dial(api, waiting, "9810099999")
    queued = await api.wait_for(second, key, statuses=("WAITING",))
    assert queued["steps"][-1]["exit"] == "wait→_queue_retry"

    held = await api.wait_for(first, key)
    assert held["variables"]["$flow.key.released"] is True
    freed_at = held["ended_at"]
    got = await api.wait_for(second, key, timeout=25)
    # woken by the release, not by its retry 30 s after it queued (29 s after the release):
    # a bound that separates the two without betting on the machine's speed
    assert got["variables"]["$flow.key.agent"] == "919810012345"
    assert got["ended_at"] - freed_at < 20


async def test_a_call_leaves_the_queue_by_exit_1_after_its_timeout(api: Any) -> None:
    _, key = await api.account()
    agent = await add_agent(api, key, "Asha", "9810012345")
    await api.request("PATCH", f"/v1/agents/{agent['id']}", key=key, json={"paused": True})
    flow = await make_flow(api, key, dialer_flow(queue_timeout_s=0.4, retry_every_s=0.1))
    started = time.time()
    execution = await api.wait_for(await dial(api, flow), key)
    assert execution["variables"]["$flow.key.agent"] == "none"
    assert "$call.agent.dnis.number" not in execution["variables"]
    assert time.time() - started >= 0.4
    retries = [s for s in execution["steps"] if s["widget"] == "allot"]
    # the first try and the one at the timeout at least; a loaded machine retries less
    # often in between, never more than every 0.1 s
    assert 2 <= len(retries) <= 8


async def test_the_queue_exit_is_internal_to_the_widget(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key, dialer_flow())
    assert set(flow["test"]["widgets"]["allot"]["exits"]) == {"0", "1"}
    document = dialer_flow("sneaky")
    document["widgets"]["allot"]["exits"]["_queue_retry"] = "none"
    status, body = await api.request("POST", "/v1/flows", key=key, json=document)
    assert status == 422
    assert body["error"]["code"] == "INVALID_FLOW"


async def test_ids_that_cannot_exist_are_not_found_and_a_nul_is_refused(api_any: Any) -> None:
    api = api_any
    _, key = await api.account()
    status, body = await api.request("GET", "/v1/agents/" + "x" * 300, key=key)
    assert status == 404, body
    # a NUL is refused in every text input, the same on both engines (issue 12)
    odd = ["/v1/agents/a%00b", "/v1/requests/r%00", "/v1/short-urls/c%00"]
    for method, path in [("GET", p) for p in odd] + [("DELETE", "/v1/agents/a%00b")]:
        status, body = await api.request(method, path, key=key)
        assert (status, body["error"]["code"]) == (422, "NUL_NOT_ALLOWED"), (path, body)
    status, body = await api.request("PATCH", "/v1/agents/a%00b", key=key, json={"paused": True})
    assert (status, body["error"]["code"]) == (422, "NUL_NOT_ALLOWED"), body
    status, body = await api.request(
        "POST",
        "/UrlShortner/phonon/shortUrl",
        json={"custToken": "a\u0000b", "longUrl": "https://example.com"},
    )
    assert (status, body["error"]["code"]) == (422, "NUL_NOT_ALLOWED"), body
