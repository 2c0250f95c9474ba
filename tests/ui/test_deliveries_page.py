"""The Deliveries pages in a real browser: a receiver that refuses everything leaves dead
letters, which the page lists; once the receiver is fixed, Recover (since a time, for the
webhook) sends them again and the page shows the job's progress until it is done and the
deliveries succeeded; a delivery shows every attempt and can be replayed. Another
account's delivery is a 404, and a viewer can neither replay nor recover."""

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
from support.console import Console, Credentials, screenshot, sign_in
from support.receiver import Receiver, receiver

COUNT = 3
FLOW = {
    "name": "notify",
    "type": "outbound",
    "webhook_enabled": True,
    "entry": {"start": "end"},
    "widgets": {"end": {"type": "end"}},
}


def dead_letters(console: Console, acme: Any) -> tuple[Receiver, str, list[str]]:
    """A webhook whose receiver answers 400 (dead letters at once), and COUNT of them."""
    rec = console.enter(receiver())
    rec.default = (400, {"error": "not yet"}, {})
    rt = console.runtime
    hook = console.call(
        webhooks.create(rt, acme, WebhookIn(name="crm", url=rec.url, is_default=True))
    )
    saved = console.call(flows.create(rt, acme, FlowSource(json.dumps(FLOW).encode())))
    for _ in range(COUNT):
        console.call(executions.start(rt, acme, saved.record.flow_id, Trigger(version="test")))
    deadline = time.monotonic() + 20
    while True:
        page = console.call(deliveries.list_page(rt, acme, DeliveryFilter(status="FAILED")))
        if len(page.items) == COUNT:
            return rec, hook.id, [d["id"] for d in page.items]
        assert time.monotonic() < deadline, page
        time.sleep(0.05)


def test_recover_after_the_receiver_is_fixed_then_replay_one(
    admin_page: Any, console: Console, acme: Any
) -> None:
    page = admin_page
    rec, _hook, ids = dead_letters(console, acme)

    page.goto(f"{console.base_url}/deliveries")
    page.get_by_label("Status").select_option("FAILED")
    page.get_by_role("button", name="Filter").click()
    rows = page.get_by_role("row").filter(has_text="FAILED")
    expect(rows).to_have_count(COUNT)

    rec.default = (200, {"ok": True}, {})  # the receiver is fixed
    page.get_by_label("Webhook").select_option(label="crm")
    page.get_by_label("Status").select_option("")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("img", name="3 attempts in the last 24 hours")).to_be_visible()
    screenshot(page, "console-deliveries")
    page.get_by_role("button", name="Recover").click()  # since an hour ago (the default)
    expect(page.locator("#job-status")).to_have_text("DONE", timeout=20_000)  # htmx polls
    expect(page.locator("#job-progress")).to_have_text(f"{COUNT} of {COUNT} re-queued")

    page.get_by_role("link", name="Succeeded deliveries").click()
    deadline = time.monotonic() + 20
    while page.get_by_role("row").filter(has_text="SUCCEEDED").count() < COUNT:
        assert time.monotonic() < deadline, page.content()
        page.wait_for_timeout(200)
        page.reload()
    assert sorted(r.headers["webhook-id"] for r in rec.received[COUNT:]) == sorted(ids)

    page.get_by_role("link", name=ids[0][:13]).click()
    expect(page.get_by_role("heading", name="Attempt 1")).to_contain_text("400")
    expect(page.get_by_role("heading", name="Attempt 2")).to_contain_text("200")
    page.get_by_text("Request headers").first.click()
    expect(page.get_by_text('"webhook-id"').first).to_be_visible()
    screenshot(page, "console-delivery")
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_contain_text("Replayed")
    deadline = time.monotonic() + 20
    while len(rec.received) < 2 * COUNT + 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert rec.received[-1].headers["webhook-id"] == ids[0]


def test_another_accounts_delivery_is_not_found(
    browser: Any, console: Console, acme: Any, admin_page: Any
) -> None:
    _rec, _hook, ids = dead_letters(console, acme)
    other, _key = console.account("other")
    stranger = console.user(other, "someone@other.test", "admin")
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in(page, console, stranger)
        answer = page.goto(f"{console.base_url}/deliveries/{ids[0]}")
        assert answer is not None and answer.status == 404
        page.goto(f"{console.base_url}/deliveries")
        expect(page.get_by_text("No deliveries match.")).to_be_visible()
    finally:
        context.close()


def test_a_viewer_can_neither_replay_nor_recover(
    viewer_page: Any, console: Console, acme: Any, viewer: Credentials
) -> None:
    page = viewer_page
    _rec, hook, ids = dead_letters(console, acme)
    page.goto(f"{console.base_url}/deliveries/{ids[0]}")
    expect(page.get_by_role("heading", name="Attempt 1")).to_be_visible()
    expect(page.get_by_role("button", name="Replay")).to_have_count(0)
    page.goto(f"{console.base_url}/deliveries?webhook={hook}")
    expect(page.get_by_role("img")).to_be_visible()
    expect(page.get_by_role("button", name="Recover")).to_have_count(0)

    # the forms posted anyway, with the viewer's own CSRF token: refused by the server
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for path, form in (
        (f"/deliveries/{ids[0]}/replay", {"csrf_token": token}),
        (
            "/deliveries/recover",
            {"csrf_token": token, "webhook": hook, "since": "2020-01-01T00:00"},
        ),
    ):
        answer = page.request.post(f"{console.base_url}{path}", form=form, max_redirects=0)
        assert answer.status == 403, (path, answer.status)
    page.goto(f"{console.base_url}/deliveries?status=FAILED")
    expect(page.get_by_role("row").filter(has_text="FAILED")).to_have_count(COUNT)
