"""One delivery path: a flow-complete webhook and a fire-and-forget webhook widget call to
the same saved webhook make the same kind of delivery, through ``DeliveryEngine.enqueue``:
both in the delivery log with ids derived from their names (so a replayed step inserts
nothing), both delivered signed, both held with ``CIRCUIT_OPEN`` while the circuit is open.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from flowhook.domain.message import OutgoingRequest
from flowhook.store.webhooks import SavedWebhook
from flowhook.webhooks.delivery import endpoint_of
from flowhook.webhooks.outgoing import NewDelivery
from support.flows import dead_url, default_webhook_and_flow
from support.receiver import receiver

FLOW: dict[str, Any] = {
    "name": "both",
    "webhook_enabled": True,
    "entry": {"start": "call"},
    "widgets": {
        "call": {
            "type": "webhook",
            "webhook": "d",
            "wait_for_response": False,
            "exits": {"0": "end", "1": "end"},
        },
        "end": {"type": "end"},
    },
}


async def setup(api: Any, url: str) -> tuple[str, str]:
    """An account whose default webhook ``d`` (flow-complete) is also the widget's."""
    return await default_webhook_and_flow(api, url, FLOW, name="d")


async def run(api: Any, key: str, flow_id: str) -> dict[str, Any]:
    status, out = await api.request(
        "POST", f"/v1/flows/{flow_id}/executions", key=key, json={"version": "test"}
    )
    assert status == 202, out
    done: dict[str, Any] = await api.wait_for(out["uuid"], key)
    return done


async def deliveries_of(
    api: Any, key: str, execution: str, *, until: Any, timeout: float = 15
) -> list[dict[str, Any]]:
    """The execution's deliveries, in full, once ``until(views)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        _, listed = await api.request("GET", f"/v1/deliveries?execution={execution}", key=key)
        views = []
        for item in listed["deliveries"]:
            _, full = await api.request("GET", f"/v1/deliveries/{item['id']}", key=key)
            views.append(full)
        if until(views):
            return views
        assert time.monotonic() < deadline, views
        await asyncio.sleep(0.02)


def names(execution: dict[str, Any]) -> tuple[str, str]:
    """The names the two deliveries' ids derive from (the widget's: its step's number)."""
    steps = [step["widget"] for step in execution["steps"]]
    uid = execution["uuid"]
    return f"widget:{uid}:call:{steps.index('call')}", f"flow-complete:{uid}"


async def test_a_widget_call_and_the_flow_complete_webhook_make_the_same_delivery(
    api_any: Any,
) -> None:
    api = api_any
    async with receiver() as rec:
        key, flow_id = await setup(api, rec.url)
        execution = await run(api, key, flow_id)
        views = await deliveries_of(
            api,
            key,
            execution["uuid"],
            until=lambda vs: len(vs) == 2 and all(v["status"] == "SUCCEEDED" for v in vs),
        )
        got = await rec.wait_for(2)
    widget_name, complete_name = names(execution)
    # the ids as they always were (uuid5 of the name): rows written before the change
    # and a replay after it are the same delivery
    widget_id = str(uuid.uuid5(uuid.NAMESPACE_URL, widget_name))
    complete_id = str(uuid.uuid5(uuid.NAMESPACE_URL, complete_name))
    step = next(s for s in execution["steps"] if s["widget"] == "call")
    assert step["delivery"] == widget_id
    by_id = {view["id"]: view for view in views}
    assert set(by_id) == {widget_id, complete_id}
    assert sorted(r.headers["webhook-id"] for r in got) == sorted(by_id)
    widget, complete = by_id[widget_id], by_id[complete_id]
    for view in (widget, complete):
        assert view["attempts_made"] == 1
        assert view["attempts"][0]["status_code"] == 200
        assert view["last_error"] is None
    same = ("execution_uuid", "webhook_id", "endpoint", "status")
    assert {k: widget[k] for k in same} == {k: complete[k] for k in same}
    assert widget["request"]["url"] == complete["request"]["url"] == rec.url
    assert widget["request"]["method"] == complete["request"]["method"]
    for received in got:
        assert received.headers["webhook-signature"].startswith("v1,")

    # the step replayed (after a crash): the same name, the same id, nothing inserted
    rt = api.runtime
    state = await rt.execution(execution["uuid"])
    assert state is not None
    saved: SavedWebhook | None = await rt.flow_complete.default_webhook(state.account_id)
    assert saved is not None
    replayed = rt.deliveries.enqueue(
        NewDelivery(
            widget_name,
            OutgoingRequest("POST", rec.url, {}, b"{}"),
            account_id=state.account_id,
            execution_uuid=execution["uuid"],
            webhook=saved,
            now=rt.now(),
        )
    )
    assert replayed.id == widget_id
    assert await rt.store.write(replayed.write) is None
    replayed.after_commit(None)
    views = await deliveries_of(api, key, execution["uuid"], until=lambda vs: True)
    assert sorted(v["id"] for v in views) == sorted(by_id)
    assert all(v["status"] == "SUCCEEDED" and v["attempts_made"] == 1 for v in views)


async def test_both_are_held_with_circuit_open_while_the_endpoint_is_down(
    api_with: Any,
) -> None:
    down = dead_url()
    trips = {"time_scale": 0.01, "breaker_failures": 1, "breaker_cooldown_s": 3000}
    async with api_with(**trips) as api:
        key, flow_id = await setup(api, down)
        first = await run(api, key, flow_id)
        await deliveries_of(
            api,
            key,
            first["uuid"],
            until=lambda vs: len(vs) == 2 and any(v["attempts_made"] for v in vs),
        )
        breaker = api.runtime.deliveries.breaker
        assert breaker.held_until(endpoint_of(down), time.time()) is not None
        second = await run(api, key, flow_id)  # both created during the cool-down
        views = await deliveries_of(api, key, second["uuid"], until=lambda vs: len(vs) == 2)
    widget_name, complete_name = names(second)
    assert {v["id"] for v in views} == {
        str(uuid.uuid5(uuid.NAMESPACE_URL, widget_name)),
        str(uuid.uuid5(uuid.NAMESPACE_URL, complete_name)),
    }
    for view in views:
        assert view["status"] == "PENDING"
        assert view["last_error"] == "CIRCUIT_OPEN"
        assert view["attempts_made"] == 0
        assert view["attempts"] == []
        assert view["next_attempt_at"] > time.time()
