"""The Flows pages in a real browser: a flow uploaded with an error shows the error at its
path, fixed it is saved, published and drawn; a widget's node opens its details; a viewer
sees no edit controls; another account's flow is not found."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import expect

from flowhook.usecases import flows
from flowhook.usecases.flows import FlowSource
from support.console import Console, Credentials, screenshot, sign_in

FLOW: dict[str, Any] = {
    "name": "remind",
    "entry": {"start": "greet"},
    "widgets": {
        "greet": {
            "type": "store_variable",
            "label": "Say hello",
            "assignments": [{"variable": "$flow.key.greeting", "value": "Hello"}],
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
            "exits": {"vip": "done", "default": "done"},
        },
        "done": {"type": "end"},
    },
}


def test_upload_a_flow_with_an_error_fix_it_publish_it_and_see_its_graph(
    admin_page: Any, console: Console
) -> None:
    page = admin_page
    page.goto(f"{console.base_url}/flows")
    page.get_by_role("link", name="New flow").click()
    broken = json.loads(json.dumps(FLOW))
    broken["widgets"]["greet"]["next"] = "nowhere"
    page.get_by_label("Flow document").fill(json.dumps(broken, indent=2))
    page.get_by_role("button", name="Create flow").click()

    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("$.widgets.greet.next")
    expect(problems).to_contain_text("UNKNOWN_WIDGET")
    expect(problems).to_contain_text("no widget 'nowhere' in this flow")
    # the text typed is kept, to be fixed in place
    expect(page.get_by_label("Flow document")).to_have_value(re.compile("nowhere"))
    screenshot(page, "console-flow-error")

    page.get_by_label("Flow document").fill(json.dumps(FLOW, indent=2))
    page.get_by_role("button", name="Create flow").click()
    expect(page.get_by_role("heading", name="remind", level=1)).to_be_visible()
    expect(page.locator("#diff")).to_contain_text("Never published")

    page.get_by_role("button", name="Publish test → prod").click()
    expect(page.get_by_role("status").filter(has_text="Published")).to_be_visible()
    expect(page.locator("#diff")).to_contain_text("publishing would change nothing")

    graph = page.locator("figure.graph svg")
    expect(graph).to_be_visible()
    for widget_id in FLOW["widgets"]:
        expect(graph.locator(f"g#widget-{widget_id}")).to_be_visible()
    expect(graph.locator("g#widget-greet")).to_contain_text("store_variable")
    expect(graph.locator("g#widget-greet")).to_contain_text("Say hello")
    expect(graph.locator("g.edge", has_text="vip")).to_be_visible()
    screenshot(page, "console-flow")

    # a node opens its widget's details beside the graph, without leaving the page
    url = page.url
    graph.locator("g#widget-route").click()
    details = page.locator("#widget-details")
    expect(details).to_contain_text("Widget route")
    expect(details).to_contain_text('"op": "=="')
    assert page.url == url


def test_edit_as_yaml_and_see_the_diff_against_prod(
    admin_page: Any, console: Console, admin: Credentials
) -> None:
    saved = console.call(
        flows.create(console.runtime, admin.account, FlowSource(json.dumps(FLOW).encode()))
    )
    flow_id = saved.record.flow_id
    console.call(flows.publish(console.runtime, admin.account, flow_id))
    page = admin_page
    page.goto(f"{console.base_url}/flows/{flow_id}/edit?format=yaml")
    text = page.get_by_label("Flow document").input_value()
    assert "greet:" in text and "{" not in text.split("\n")[0]
    page.get_by_label("Flow document").fill(text.replace("Say hello", "Say hi"))
    page.get_by_role("button", name="Save test version").click()
    expect(page.locator("#diff")).to_contain_text("widget greet changed")
    expect(page.locator("figure.graph g#widget-greet")).to_contain_text("Say hi")


def test_a_viewer_reads_flows_but_cannot_edit_or_publish(
    viewer_page: Any, console: Console, viewer: Credentials
) -> None:
    saved = console.call(
        flows.create(console.runtime, viewer.account, FlowSource(json.dumps(FLOW).encode()))
    )
    page = viewer_page
    page.goto(f"{console.base_url}/flows")
    expect(page.get_by_role("link", name="remind")).to_be_visible()
    expect(page.get_by_role("link", name="New flow")).to_have_count(0)
    page.get_by_role("link", name="remind").click()
    expect(page.locator("figure.graph g#widget-greet")).to_be_visible()
    expect(page.get_by_role("button", name="Publish test → prod")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit test version")).to_have_count(0)
    response = page.goto(f"{console.base_url}/flows/{saved.record.flow_id}/edit")
    assert response is not None and response.status == 403


def test_another_accounts_flow_is_not_found(
    page: Any, console: Console, admin: Credentials
) -> None:
    saved = console.call(
        flows.create(console.runtime, admin.account, FlowSource(json.dumps(FLOW).encode()))
    )
    other, _key = console.account("other")
    sign_in(page, console, console.user(other, "admin@other.test"))
    flow_id = saved.record.flow_id
    for path in (f"/flows/{flow_id}", f"/flows/{flow_id}/widgets/greet", f"/flows/{flow_id}/edit"):
        response = page.goto(console.base_url + path)
        assert response is not None and response.status == 404, path


def test_check_without_saving_shows_problems_or_valid_and_stores_nothing(
    admin_page: Any, console: Console, acme: Any
) -> None:
    page = admin_page
    page.goto(f"{console.base_url}/flows/new")
    broken = json.loads(json.dumps(FLOW))
    broken["widgets"]["greet"]["next"] = "nowhere"
    page.get_by_label("Flow document").fill(json.dumps(broken, indent=2))
    page.get_by_role("button", name="Check without saving").click()
    expect(page.get_by_role("alert")).to_contain_text("$.widgets.greet.next")
    expect(page.get_by_label("Flow document")).to_have_value(re.compile("nowhere"))
    page.get_by_label("Flow document").fill(json.dumps(FLOW, indent=2))
    page.get_by_role("button", name="Check without saving").click()
    expect(page.locator("#check-result")).to_contain_text("Valid: nothing was saved")
    expect(page.get_by_role("button", name="Create flow")).to_be_visible()  # still the editor
    assert console.call(flows.list_all(console.runtime, acme)) == []


def test_an_admin_deletes_a_flow_after_confirming_unless_executions_are_unfinished(
    admin_page: Any, console: Console, acme: Any
) -> None:
    from flowhook.usecases import executions

    waiting = json.loads(json.dumps(FLOW))
    waiting["widgets"]["greet"]["next"] = "pause"
    waiting["widgets"]["pause"] = {"type": "delay", "seconds": 3600, "next": "route"}
    busy = console.call(
        flows.create(console.runtime, acme, FlowSource(json.dumps(waiting).encode()))
    )
    idle = console.call(
        flows.create(
            console.runtime, acme, FlowSource(json.dumps({**FLOW, "name": "idle"}).encode())
        )
    )
    trigger = executions.Trigger(version="test")
    console.call(executions.start(console.runtime, acme, busy.record.flow_id, trigger))

    page = admin_page
    page.goto(f"{console.base_url}/flows/{busy.record.flow_id}")
    page.get_by_label("Yes, delete remind").check()
    page.get_by_role("button", name="Delete flow").click()
    expect(page.locator("#delete-error")).to_contain_text("unfinished executions")
    assert console.call(flows.get(console.runtime, acme, busy.record.flow_id))

    page.goto(f"{console.base_url}/flows/{idle.record.flow_id}")
    unconfirmed = page.request.post(
        f"{console.base_url}/flows/{idle.record.flow_id}/delete",
        form={"csrf_token": page.locator("input[name=csrf_token]").first.get_attribute("value")},
        max_redirects=0,
    )
    assert unconfirmed.status == 422 and "tick the confirmation" in unconfirmed.text()
    page.get_by_label("Yes, delete idle").check()
    page.get_by_role("button", name="Delete flow").click()
    page.wait_for_url(re.compile(r"/flows\?deleted="))
    expect(page.get_by_role("status")).to_contain_text("Deleted flow idle")
    names = [r.name for r in console.call(flows.list_all(console.runtime, acme))]
    assert names == ["remind"]


def test_a_viewer_has_no_delete_or_check_controls_and_cannot_delete(
    viewer_page: Any, console: Console, acme: Any
) -> None:
    saved = console.call(flows.create(console.runtime, acme, FlowSource(json.dumps(FLOW).encode())))
    viewer_page.goto(f"{console.base_url}/flows/{saved.record.flow_id}")
    expect(viewer_page.get_by_role("button", name="Delete flow")).to_have_count(0)
    answer = viewer_page.request.post(
        f"{console.base_url}/flows/{saved.record.flow_id}/delete",
        form={
            "csrf_token": viewer_page.locator("input[name=csrf_token]").first.get_attribute("value")
            or "",
            "confirm": "yes",
        },
        max_redirects=0,
    )
    assert answer.status == 403
    assert console.call(flows.get(console.runtime, acme, saved.record.flow_id))
