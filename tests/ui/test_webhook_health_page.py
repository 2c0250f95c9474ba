"""A webhook's health and its last 24 h in the console (list and webhook page), and the
Enable button of a disabled webhook: what ``GET /v1/webhooks/{id}`` and
``POST /v1/webhooks/{id}/enable`` do, in a browser."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from flowhook.store import webhook_health, webhook_stats
from flowhook.store.webhook_stats import BUCKET_S, Tally
from flowhook.usecases import webhooks
from flowhook.usecases.webhooks import WebhookIn
from support.console import Console, screenshot


def saved_webhook(console: Console, account: Any, url: str, name: str) -> Any:
    form = WebhookIn.model_validate({"name": name, "url": url})
    return console.call(webhooks.create(console.runtime, account, form))


def csrf_of(page: Any) -> str:
    return str(page.locator("input[name=csrf_token]").first.get_attribute("value"))


def _disable(console: Console, webhook_id: str) -> None:
    now = console.runtime.now()
    console.call(
        console.runtime.store.write(
            lambda c: webhook_health.disable(c, webhook_id, now, reason=webhook_health.GONE)
        )
    )


def _attempts(console: Console, webhook_id: str, *outcomes: tuple[bool, float]) -> None:
    tally = Tally()
    for ok, duration_ms in outcomes:
        tally.add(ok, duration_ms)
    bucket = int(console.runtime.now() // BUCKET_S)
    console.call(
        console.runtime.store.write(lambda c: webhook_stats.add(c, [(webhook_id, bucket, tally)]))
    )


def test_the_list_shows_health_and_the_last_day_of_each_webhook(
    admin_page: Any, console: Console, acme: Any
) -> None:
    healthy = saved_webhook(console, acme, "https://127.0.0.1:9/ok", name="crm")
    gone = saved_webhook(console, acme, "https://127.0.0.1:9/gone", name="legacy")
    _attempts(console, healthy.id, (True, 20), (True, 30), (False, 900), (True, 40))
    _disable(console, gone.id)

    admin_page.goto(f"{console.base_url}/webhooks")
    crm = admin_page.locator(f"#webhook-{healthy.id}")
    expect(crm).to_contain_text("healthy")
    expect(crm).to_contain_text("4 attempts · 75.0% ok")
    expect(crm).to_contain_text("p50 ≤")
    legacy = admin_page.locator(f"#webhook-{gone.id}")
    expect(legacy).to_contain_text("disabled")
    expect(legacy).to_contain_text("410 Gone")
    expect(legacy).to_contain_text("no attempts")


def test_an_admin_enables_a_disabled_webhook_from_its_page(
    admin_page: Any, console: Console, acme: Any
) -> None:
    saved = saved_webhook(console, acme, "https://127.0.0.1:9/gone", name="legacy")
    _disable(console, saved.id)
    page = admin_page
    page.goto(f"{console.base_url}/webhooks/{saved.id}")
    health = page.get_by_role("region", name="Health")
    expect(health).to_contain_text("disabled")
    expect(health).to_contain_text("the endpoint answered 410 Gone")
    screenshot(page, "console-webhook-disabled")
    health.get_by_role("button", name="Enable").click()
    page.wait_for_url(f"{console.base_url}/webhooks/{saved.id}")
    expect(page.locator("#webhook-health")).to_contain_text("healthy")
    expect(health.get_by_role("button", name="Enable")).to_have_count(0)
    after = console.call(console.runtime.store.read(lambda c: webhook_health.not_healthy(c)))
    assert saved.id not in after


def test_a_viewer_sees_a_disabled_webhook_but_cannot_enable_it(
    viewer_page: Any, console: Console, acme: Any
) -> None:
    saved = saved_webhook(console, acme, "https://127.0.0.1:9/gone", name="legacy")
    _disable(console, saved.id)
    viewer_page.goto(f"{console.base_url}/webhooks/{saved.id}")
    expect(viewer_page.locator("#webhook-health")).to_contain_text("disabled")
    expect(viewer_page.get_by_role("button", name="Enable")).to_have_count(0)
    answer = viewer_page.request.post(
        f"{console.base_url}/webhooks/{saved.id}/enable",
        form={"csrf_token": csrf_of(viewer_page)},
        max_redirects=0,
    )
    assert answer.status == 403
    still = console.call(console.runtime.store.read(lambda c: webhook_health.not_healthy(c)))
    assert saved.id in still
