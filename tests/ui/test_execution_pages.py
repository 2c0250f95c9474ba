"""The Executions pages rendered by the server, over plain HTTP: the search, an execution's
page (its path in the drawing, its timeline, its flow-complete delivery linked), the live
stream, and another account's executions not found."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flowhook.domain.account import Account
from flowhook.usecases import flows
from flowhook.usecases.executions import ExecutionFilter
from flowhook.usecases.flows import FlowSource
from support.app import Api
from support.console_http import SignIn, signed_in
from support.graphviz import dot_command
from support.receiver import receiver

__all__ = ["dot_command", "signed_in"]

FLOW: dict[str, Any] = {
    "name": "remind",
    "webhook_enabled": True,
    "entry": {"start": "greet"},
    "widgets": {
        "greet": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.greeting", "value": "Hello $flow.key.name"}],
            "next": "route",
        },
        "route": {
            "type": "decision",
            "branches": [
                {
                    "exit": "vip",
                    "conditions": [{"left": "$flow.key.tier", "op": "==", "right": "gold"}],
                }
            ],
            "exits": {"vip": "vip_end", "default": "done"},
        },
        "vip_end": {"type": "end"},
        "done": {"type": "end"},
    },
}


async def run(api: Api, key: str, flow_id: str, **variables: str) -> dict[str, Any]:
    """Trigger the flow through the API with the account's key; wait for its end."""
    status, body = await api.request(
        "POST",
        f"/v1/flows/{flow_id}/executions",
        key=key,
        json={"version": "test", "dnis": "9879964805", "variables": variables},
    )
    assert status == 202, body
    return await api.wait_for(body["uuid"], key)


async def run_delivered(api: Api, account: Account, key: str, *, webhook: str) -> dict[str, Any]:
    """Save ``webhook`` as the account's default webhook to a local receiver, run FLOW once
    and wait until the receiver has its flow-complete delivery."""
    async with receiver() as hook:
        status, _ = await api.request(
            "POST",
            "/v1/webhooks",
            key=key,
            json={"name": webhook, "url": hook.url, "is_default": True},
        )
        assert status == 201
        saved = await flows.create(api.runtime, account, FlowSource(json.dumps(FLOW).encode()))
        done = await run(api, key, saved.record.flow_id, **{"$flow.key.name": "Asha"})
        await hook.wait_for(1)
    return done


async def test_an_execution_page_shows_its_path_timeline_and_flow_complete_delivery(
    api: Api, signed_in: SignIn, dot_command: str
) -> None:
    account, key, admin = await signed_in(http_enabled=True)
    done = await run_delivered(api, account, key, webhook="crm")
    uuid = done["uuid"]
    status, page, _ = await admin.get(f"/executions/{uuid}")
    assert status == 200
    assert "sse-connect" not in page  # finished: nothing to follow
    for widget_id in ("greet", "route", "done"):
        assert f'<g id="widget-{widget_id}" class="node widget visited"' in page
    assert '<g id="widget-vip_end" class="node widget" ' in page
    assert page.count('data-widget="') == 3
    assert 'exit <code class="exit">default</code>' in page
    assert "<code>$flow.key.greeting</code>" in page and "Hello Asha" in page
    deliveries = await api.request("GET", f"/v1/deliveries?execution={uuid}", key=key)
    (delivery,) = deliveries[1]["deliveries"]
    assert f'<a href="/deliveries/{delivery["id"]}">flow complete</a>' in page


async def test_a_running_execution_page_follows_it_live_until_it_ends(
    api: Api, signed_in: SignIn, dot_command: str
) -> None:
    account, key, admin = await signed_in()
    waiting = json.loads(json.dumps(FLOW))
    waiting["widgets"]["greet"]["next"] = "pause"
    waiting["widgets"]["pause"] = {"type": "delay", "seconds": 1, "next": "route"}
    saved = await flows.create(api.runtime, account, FlowSource(json.dumps(waiting).encode()))
    status, body = await api.request(
        "POST", f"/v1/flows/{saved.record.flow_id}/executions", key=key, json={"version": "test"}
    )
    assert status == 202
    uuid = body["uuid"]
    await api.wait_for(uuid, key, statuses=("WAITING",))
    status, page, _ = await admin.get(f"/executions/{uuid}")
    assert status == 200 and f'sse-connect="/executions/{uuid}/live"' in page
    assert '<g id="widget-pause" class="node widget current"' in page

    events: list[tuple[str, str]] = []
    async with admin.session.get(api.base_url + f"/executions/{uuid}/live") as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        name, data = "", []
        async for raw in stream.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data.append(line.removeprefix("data: "))
            elif not line and name:
                events.append((name, "\n".join(data)))
                name, data = "", []
    assert [n for n, _ in events][-1] == "done"
    updates = [d for n, d in events if n == "update"]
    assert 'data-status="WAITING"' in updates[0]  # what the page showed first
    assert 'data-status="COMPLETED"' in updates[-1]  # then pushed as it ended
    assert '<g id="widget-pause" class="node widget visited"' in updates[-1]


async def test_the_search_filters_by_flow_and_status_and_a_uuid_opens_its_execution(
    api: Api, signed_in: SignIn
) -> None:
    account, key, admin = await signed_in()
    one = await flows.create(api.runtime, account, FlowSource(json.dumps(FLOW).encode()))
    other = {**FLOW, "name": "other"}
    two = await flows.create(api.runtime, account, FlowSource(json.dumps(other).encode()))
    first = (await run(api, key, one.record.flow_id))["uuid"]
    second = (await run(api, key, two.record.flow_id))["uuid"]

    status, page, _ = await admin.get("/executions")
    assert status == 200 and first in page and second in page
    assert page.index(second) < page.index(first)  # newest first
    _, page, _ = await admin.get(f"/executions?flow_id={one.record.flow_id}&status=COMPLETED")
    assert first in page and second not in page
    _, page, _ = await admin.get(f"/executions?flow_id={one.record.flow_id}&status=FAILED")
    assert first not in page and "No executions match this search." in page

    status, page, _ = await admin.get("/executions?status=LOST")
    assert status == 422 and 'id="f-status-error"' in page

    status, _, headers = await admin.get(f"/executions?uuid={first}")
    assert (status, headers["Location"]) == (303, f"/executions/{first}")
    status, page, _ = await admin.get("/executions?uuid=00000000-0000-0000-0000-000000000000")
    assert status == 404 and "No execution 00000000-0000-0000-0000-000000000000" in page


async def test_the_list_pages_with_a_link_to_older_executions(
    api: Api, signed_in: SignIn, monkeypatch: Any
) -> None:
    from flowhook.ui.pages import executions as page_module

    monkeypatch.setattr(page_module, "PAGE_SIZE", 2)
    account, key, admin = await signed_in()
    saved = await flows.create(api.runtime, account, FlowSource(json.dumps(FLOW).encode()))
    uuids = [(await run(api, key, saved.record.flow_id))["uuid"] for _ in range(3)]
    _, page, _ = await admin.get(f"/executions?flow_id={saved.record.flow_id}")
    assert uuids[2] in page and uuids[1] in page and uuids[0] not in page
    link = re.search(r'<a class="button" href="([^"]+)" rel="next">', page)
    assert link is not None
    _, older, _ = await admin.get(html.unescape(link[1]))
    assert uuids[0] in older and uuids[2] not in older and 'rel="next"' not in older


async def test_another_accounts_execution_is_not_found(api: Api, signed_in: SignIn) -> None:
    account, key, _ = await signed_in("acme")
    _, _, other = await signed_in("other")
    saved = await flows.create(api.runtime, account, FlowSource(json.dumps(FLOW).encode()))
    uuid = (await run(api, key, saved.record.flow_id))["uuid"]
    assert (await other.get(f"/executions/{uuid}"))[0] == 404
    assert (await other.get(f"/executions/{uuid}/live"))[0] == 404
    assert (await other.get(f"/executions?uuid={uuid}"))[0] == 404
    assert uuid not in (await other.get("/executions"))[1]


@pytest.mark.skipif(
    "contact" not in ExecutionFilter.model_fields,
    reason="the contact and time filters come with the lists work (branch h-lists)",
)
async def test_the_search_by_contact_number_and_by_time_in_the_accounts_zone(
    api: Api, signed_in: SignIn
) -> None:
    account, key, admin = await signed_in(timezone="Asia/Kolkata")
    saved = await flows.create(api.runtime, account, FlowSource(json.dumps(FLOW).encode()))
    uuid = (await run(api, key, saved.record.flow_id))["uuid"]  # dnis 9879964805
    _, page, _ = await admin.get("/executions?contact=9879964805")
    assert uuid in page
    _, page, _ = await admin.get("/executions?contact=9879964806")
    assert uuid not in page
    created = (await api.request("GET", f"/v1/executions/{uuid}", key=key))[1]["created_at"]
    # the form's datetime-local fields are read in the account's time zone, as shown
    zone = ZoneInfo("Asia/Kolkata")
    before = dt.datetime.fromtimestamp(created - 60, zone).strftime("%Y-%m-%dT%H:%M:%S")
    after = dt.datetime.fromtimestamp(created + 60, zone).strftime("%Y-%m-%dT%H:%M:%S")
    _, page, _ = await admin.get(f"/executions?since={before}&until={after}")
    assert uuid in page
    _, page, _ = await admin.get(f"/executions?since={after}")
    assert uuid not in page
    status, page, _ = await admin.get("/executions?since=yesterday")
    assert status == 422 and 'id="f-since-error"' in page


async def test_an_execution_page_names_the_webhook_of_its_delivery_as_deliveries_does(
    api: Api, signed_in: SignIn
) -> None:
    """The flow-complete delivery is shown with its saved webhook's name (the Deliveries
    list's "Webhook" column), not only the endpoint's host:port."""
    account, key, admin = await signed_in(http_enabled=True)
    done = await run_delivered(api, account, key, webhook="crm_receiver")
    _, listed, _ = await admin.get(f"/deliveries?execution={done['uuid']}")
    assert "<td>crm_receiver</td>" in listed
    _, page, _ = await admin.get(f"/executions/{done['uuid']}")
    section = page[page.index('id="deliveries-title"') : page.index('id="variables-title"')]
    assert "to crm_receiver" in section
