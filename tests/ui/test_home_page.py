"""The home page: where a new account starts, and the last day at a glance once flows
have run (counts, latencies, the webhooks failing now)."""

from __future__ import annotations

import json
import time
from typing import Any

from playwright.sync_api import expect

from flowhook.usecases import deliveries, executions, flows, webhooks
from flowhook.usecases.deliveries import DeliveryFilter
from flowhook.usecases.executions import Trigger
from flowhook.usecases.flows import FlowSource
from flowhook.usecases.webhooks import WebhookIn
from support.console import Console, screenshot
from support.receiver import receiver

FLOW = {
    "name": "greet",
    "webhook_enabled": True,
    "entry": {"start": "a"},
    "widgets": {
        "a": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.greeting", "value": "hi"}],
            "next": "b",
        },
        "b": {"type": "end"},
    },
}


def test_a_new_account_is_shown_where_to_start(admin_page: Any, console: Console) -> None:
    page = admin_page
    start = page.get_by_role("region", name="Where to start")
    expect(start.get_by_role("link", name="Add a webhook")).to_be_visible()
    expect(start.get_by_role("link", name="Upload a flow")).to_be_visible()
    expect(start).to_contain_text(f"curl -X POST {console.base_url}/v1/flows/FLOW_ID/executions")
    executions_card = page.get_by_role("region", name="Executions")
    expect(executions_card).to_contain_text("0")


def test_the_last_day_counts_executions_and_names_a_failing_webhook(
    admin_page: Any, console: Console, acme: Any
) -> None:
    rec = console.enter(receiver())
    rec.default = (503, {"error": "down"}, {})
    rt = console.runtime
    hook = console.call(
        webhooks.create(
            rt, acme, WebhookIn.model_validate({"name": "crm", "url": rec.url, "is_default": True})
        )
    )
    saved = console.call(flows.create(rt, acme, FlowSource(json.dumps(FLOW).encode())))
    flow_id = saved.record.flow_id
    console.call(flows.publish(rt, acme, flow_id))
    for _ in range(3):
        console.call(executions.start(rt, acme, flow_id, Trigger()))
    # wait for the event: each execution's flow-complete delivery has failed once
    deadline = time.monotonic() + 30
    while True:
        page_of = console.call(deliveries.list_page(rt, acme, DeliveryFilter()))
        failed = [d for d in page_of.items if d["last_error"]]
        if len(failed) == 3:
            break
        assert time.monotonic() < deadline, page_of
        time.sleep(0.05)
    page = admin_page
    page.reload()
    executions_card = page.get_by_role("region", name="Executions")
    expect(executions_card.locator(".stat").first).to_have_text("3")
    deliveries_card = page.get_by_role("region", name="Deliveries")
    expect(deliveries_card.locator(".stat").first).to_have_text("3")
    expect(deliveries_card).to_contain_text("p99 attempt")
    failing = page.get_by_role("region", name="Failing webhooks")
    expect(failing.get_by_role("link", name="crm")).to_have_attribute(
        "href", f"/webhooks/{hook.id}"
    )
    expect(failing).to_contain_text("failing since")
    expect(failing).to_contain_text("3 failed attempts")
    expect(page.get_by_role("region", name="Where to start")).to_have_count(0)
    screenshot(page, "console-home")
