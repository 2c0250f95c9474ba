"""The Executions pages in a real browser: a flow triggered through the API (with the
account's key) is watched live until it ends, its path coloured in the graph, its
timeline showing the webhook call's request and response; the search finds it; another
account's execution is not found."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from playwright.sync_api import expect

from flowhook.usecases import flows
from flowhook.usecases.flows import FlowSource
from support.console import Console, screenshot, sign_in
from support.receiver import Receiver, receiver


def calling(url: str) -> dict[str, Any]:
    """greet → call (a POST to ``url``) → done on success, or → sorry on failure."""
    return {
        "name": "notify",
        "entry": {"start": "greet"},
        "widgets": {
            "greet": {
                "type": "store_variable",
                "assignments": [
                    {"variable": "$flow.key.greeting", "value": "Hello $flow.key.name"}
                ],
                "next": "call",
            },
            "call": {
                "type": "webhook",
                "webhook": "custom",
                "request": {
                    "method": "POST",
                    "url": url,
                    "body_type": "JSON",
                    "body": {"greeting": "$flow.key.greeting"},
                },
                "exits": {"0": "done", "1": "sorry"},
            },
            "done": {"type": "end"},
            "sorry": {"type": "end"},
        },
    }


def test_trigger_a_flow_and_watch_its_execution_finish_live_with_its_path_coloured(
    page: Any, console: Console
) -> None:
    account, key = console.account("shop", http_enabled=True)
    sign_in(page, console, console.user(account, "admin@shop.test"))
    held: Receiver = console.enter(receiver())
    release = console.call(_event())
    held.hold = release
    saved = console.call(
        flows.create(console.runtime, account, FlowSource(json.dumps(calling(held.url)).encode()))
    )
    flow_id = saved.record.flow_id
    console.call(flows.publish(console.runtime, account, flow_id))

    status, body = console.call(
        console.api.request(
            "POST",
            f"/v1/flows/{flow_id}/executions",
            key=key,
            json={"dnis": "9879964805", "variables": {"$flow.key.name": "Asha"}},
        )
    )
    assert status == 202, body
    uuid = body["uuid"]
    console.call(held.wait_for(1))  # the call is in flight, held by the receiver

    page.goto(f"{console.base_url}/executions/{uuid}")
    summary = page.locator(".execution-status")
    expect(summary).not_to_have_text("COMPLETED")
    page.evaluate("window.stayedOnThePage = true")

    console.loop.call_soon_threadsafe(release.set)  # the receiver answers: the flow ends
    expect(summary).to_have_text("COMPLETED")
    assert page.evaluate("window.stayedOnThePage") is True  # pushed live, not reloaded

    graph = page.locator("figure.graph svg")
    for widget_id in ("greet", "call", "done"):
        expect(graph.locator(f"g#widget-{widget_id}")).to_have_class("node widget visited")
    expect(graph.locator("g#widget-sorry")).to_have_class("node widget")
    expect(graph.locator("g.edge.taken", has_text="0")).to_have_count(1)
    expect(graph.locator("g.edge.taken", has_text="1")).to_have_count(0)

    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li.step")).to_have_count(3)
    call = timeline.locator("li.step[data-widget='call']")
    expect(call).to_contain_text("exit 0")
    call.get_by_text("Request: POST").click()
    expect(call).to_contain_text('{"greeting":"Hello Asha"}')
    call.get_by_text("Response: 200").click()
    expect(call).to_contain_text('"ok": true')
    expect(timeline.locator("li.step[data-widget='greet']")).to_contain_text("$flow.key.greeting")
    screenshot(page, "console-execution")

    # the search finds it by flow and status, and by its UUID
    page.goto(f"{console.base_url}/executions")
    page.get_by_label("Flow").select_option(label="notify")
    page.get_by_label("Status").select_option("COMPLETED")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name=uuid)).to_be_visible()
    page.get_by_label("Status").select_option("FAILED")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name=uuid)).to_have_count(0)
    screenshot(page, "console-executions")


def test_another_accounts_execution_is_not_found(page: Any, console: Console) -> None:
    account, key = console.account("shop")
    doc = {"name": "n", "entry": {"start": "e"}, "widgets": {"e": {"type": "end"}}}
    saved = console.call(
        flows.create(console.runtime, account, FlowSource(json.dumps(doc).encode()))
    )
    status, body = console.call(
        console.api.request(
            "POST",
            f"/v1/flows/{saved.record.flow_id}/executions",
            key=key,
            json={"version": "test"},
        )
    )
    assert status == 202
    other, _ = console.account("other")
    sign_in(page, console, console.user(other, "admin@other.test"))
    for path in (f"/executions/{body['uuid']}", f"/executions/{body['uuid']}/live"):
        response = page.goto(console.base_url + path)
        assert response is not None and response.status == 404, path


async def _event() -> asyncio.Event:
    """An event made on the server's loop (the receiver waits on it there)."""
    return asyncio.Event()
