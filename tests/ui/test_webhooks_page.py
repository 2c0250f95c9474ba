"""The Webhooks page ("Advanced → Webhook") in a real browser: add a webhook, Check it
(green tick / red cross with reason and status, without a page reload), save, edit,
delete; what viewers and other accounts may not do."""

from __future__ import annotations

import base64
import re
from typing import Any

from playwright.sync_api import expect

from flowhook.domain.request_spec import BasicAuth
from flowhook.usecases import webhooks
from flowhook.usecases.webhooks import WebhookIn
from support.console import Console, Credentials, screenshot, sign_in
from support.receiver import receiver


def saved_webhook(console: Console, account: Any, url: str, **fields: Any) -> Any:
    form = WebhookIn.model_validate({"name": "orders", "url": url, **fields})
    return console.call(webhooks.create(console.runtime, account, form))


def csrf_of(page: Any) -> str:
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    return str(token)


def test_add_a_webhook_check_it_green_and_save_it(
    admin_page: Any, console: Console, acme: Any
) -> None:
    rec = console.enter(receiver())
    page = admin_page
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Add webhook").click()
    page.get_by_label("Name", exact=True).fill("orders")
    page.get_by_label("Method").select_option("POST")
    page.get_by_label("URL", exact=True).fill(rec.url)
    page.get_by_label("None", exact=True).check()
    page.evaluate("window.notReloaded = true")  # gone if Check reloaded the page
    page.get_by_role("button", name="Check").click()
    result = page.locator("#check-result")
    expect(result.locator("[data-ok=true]")).to_be_visible()
    expect(result).to_contain_text("OK · 200")
    assert page.evaluate("window.notReloaded") is True
    # the check was a real, signed request with the sample message
    assert len(rec.received) == 1
    assert rec.received[0].json()["test"] is True
    assert "webhook-signature" in {k.lower() for k in rec.received[0].headers}
    screenshot(page, "console-webhook-form")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{console.base_url}/webhooks")
    row = page.get_by_role("row").filter(has_text="orders")
    expect(row).to_contain_text(rec.url)
    expect(row).to_contain_text("POST")
    saved = console.call(webhooks.list_all(console.runtime, acme))
    assert [(w.name, w.spec.url) for w in saved] == [("orders", rec.url)]


def test_enter_in_a_field_saves_the_webhook_and_calls_nobody(
    admin_page: Any, console: Console, acme: Any
) -> None:
    """Enter saves, like in every form; only the Check button calls the target (Check is the
    first button of the form: a browser presses the first one on Enter)."""
    rec = console.enter(receiver())
    page = admin_page
    page.goto(f"{console.base_url}/webhooks/new")
    # what Enter presses is not a second Save for the eye (nor for a screen reader)
    expect(page.locator("#webhook-form button:visible")).to_have_text(["Check", "Save"])
    page.get_by_label("Name", exact=True).fill("orders")
    url = page.get_by_label("URL", exact=True)
    url.fill(rec.url)
    page.get_by_label("Body type").select_option("JSON")
    page.get_by_label("Body", exact=True).fill("{not json")
    url.press("Enter")  # refused: the message at its field, the form as typed
    expect(page.locator("#body-error")).to_contain_text("not valid JSON")
    expect(url).to_have_value(rec.url)
    assert console.call(webhooks.list_all(console.runtime, acme)) == []
    page.get_by_label("Body", exact=True).fill('{"order": "{{flow.data.id}}"}')
    url.press("Enter")
    page.wait_for_url(f"{console.base_url}/webhooks")
    expect(page.get_by_role("row").filter(has_text="orders")).to_contain_text(rec.url)
    [saved] = console.call(webhooks.list_all(console.runtime, acme))
    # an edit too: Enter in the name saves the new name
    page.goto(f"{console.base_url}/webhooks/{saved.id}")
    name = page.get_by_label("Name", exact=True)
    name.fill("orders-v2")
    name.press("Enter")
    page.wait_for_url(f"{console.base_url}/webhooks")
    expect(page.get_by_role("row").filter(has_text="orders-v2")).to_contain_text(rec.url)
    assert console.call(webhooks.get(console.runtime, acme, saved.id)).name == "orders-v2"
    assert rec.received == []  # no Check went out
    # Check is still the button's: a click checks, in place
    page.goto(f"{console.base_url}/webhooks/{saved.id}")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#check-result [data-ok=true]")).to_be_visible()
    assert len(rec.received) == 1


def test_check_of_a_broken_endpoint_shows_a_red_cross_with_reason_and_status(
    admin_page: Any, console: Console
) -> None:
    rec = console.enter(receiver())
    rec.default = (500, {"error": "down"}, {})
    page = admin_page
    page.goto(f"{console.base_url}/webhooks/new")
    page.get_by_label("Name", exact=True).fill("broken")
    page.get_by_label("URL", exact=True).fill(rec.url)
    page.get_by_role("button", name="Check").click()
    result = page.locator("#check-result")
    expect(result.locator("[data-ok=false]")).to_be_visible()
    expect(result).to_contain_text("status 500")
    expect(result).to_contain_text("SERVER_ERROR")
    # nothing listens on a closed port: a reason without a status
    page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/hook")
    page.get_by_role("button", name="Check").click()
    expect(result).to_contain_text("CONNECTION_ERROR: could not connect (")  # details apart
    expect(result).not_to_contain_text("status")


def test_the_list_checks_a_saved_webhook_in_place_and_keeps_the_result(
    admin_page: Any, console: Console, acme: Any
) -> None:
    rec = console.enter(receiver())
    saved_webhook(console, acme, rec.url, is_default=True)
    page = admin_page
    page.goto(f"{console.base_url}/webhooks")
    row = page.get_by_role("row").filter(has_text="orders")
    expect(row).to_contain_text("default")
    expect(row).to_contain_text("never")
    row.get_by_role("button", name="Check").click()
    expect(row.locator("[data-ok=true]")).to_be_visible()
    screenshot(page, "console-webhooks")
    page.reload()
    expect(page.get_by_role("row").filter(has_text="orders")).not_to_contain_text("never")


def test_an_edit_keeps_the_saved_password_and_its_check_uses_it(
    admin_page: Any, console: Console, acme: Any
) -> None:
    rec = console.enter(receiver())
    saved = saved_webhook(
        console,
        acme,
        rec.url,
        auth={"type": "basic", "username": "shop", "password": "s3cret-pass"},
        headers={"X-Api-Key": "key-123", "X-Source": "flowhook"},
    )
    page = admin_page
    page.goto(f"{console.base_url}/webhooks/{saved.id}")
    html = page.content()
    assert "s3cret-pass" not in html and "key-123" not in html  # never sent to a browser
    expect(page.get_by_text("A password is set")).to_be_visible()
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#check-result [data-ok=true]")).to_be_visible()
    sent = rec.received[-1].headers
    assert sent["Authorization"] == "Basic " + base64.b64encode(b"shop:s3cret-pass").decode()
    assert sent["X-Api-Key"] == "key-123"
    page.get_by_label("Name", exact=True).fill("orders-v2")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{console.base_url}/webhooks")
    updated = console.call(webhooks.get(console.runtime, acme, saved.id))
    assert updated.name == "orders-v2"
    real = updated.real_spec(console.runtime.cipher)
    assert isinstance(real.auth, BasicAuth) and real.auth.password == "s3cret-pass"
    assert real.headers["X-Api-Key"] == "key-123"


def test_ordered_by_a_flow_variable_is_chosen_in_the_form(
    admin_page: Any, console: Console, acme: Any
) -> None:
    rec = console.enter(receiver())
    saved = saved_webhook(console, acme, rec.url)
    page = admin_page
    page.goto(f"{console.base_url}/webhooks/{saved.id}")
    expect(page.get_by_label("Ordered by", exact=True)).to_have_value("")
    page.get_by_label("Ordered by", exact=True).select_option(label="Flow variable")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#order_variable-error")).to_contain_text("name the variable")
    page.get_by_label("Key variable (for a flow variable key)").fill("flow.key.order_id")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{console.base_url}/webhooks")
    updated = console.call(webhooks.get(console.runtime, acme, saved.id))
    assert (updated.ordered_by, updated.order_variable) == ("variable", "flow.key.order_id")
    page.goto(f"{console.base_url}/webhooks/{saved.id}")
    expect(page.get_by_label("Ordered by", exact=True)).to_have_value("variable")
    page.get_by_label("Ordered by", exact=True).select_option(label="Not ordered")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{console.base_url}/webhooks")
    assert console.call(webhooks.get(console.runtime, acme, saved.id)).ordered_by is None


def test_form_errors_are_shown_at_their_fields(admin_page: Any, console: Console) -> None:
    page = admin_page
    page.goto(f"{console.base_url}/webhooks/new")
    page.get_by_label("Name", exact=True).fill("bad")
    page.get_by_label("URL", exact=True).fill("ftp://example.test/x")
    page.get_by_label("Headers").fill("no colon here")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#headers-error")).to_contain_text("write each header as name:value")
    page.get_by_label("Headers").fill("X-Ok: 1")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#url-error")).to_contain_text("http:// or https://")
    expect(page.get_by_label("URL", exact=True)).to_have_attribute("aria-invalid", "true")


def test_a_refused_save_shows_every_fields_error_at_once(
    admin_page: Any, console: Console, acme: Any
) -> None:
    """Several wrong fields: every message at its field in one go (not one group per save),
    the form as typed, nothing saved."""
    saved_webhook(console, acme, "https://example.test/hook")  # its name: "orders"
    page = admin_page
    page.goto(f"{console.base_url}/webhooks/new")
    page.get_by_label("Name", exact=True).fill("orders")
    page.get_by_label("URL", exact=True).fill("ftp://example.test/x")
    page.get_by_label("Headers").fill("no colon here")
    page.get_by_label("Body type").select_option("JSON")
    page.get_by_label("Body", exact=True).fill("{not json")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#body-error")).to_contain_text("not valid JSON")
    expect(page.locator("#url-error")).to_contain_text("http:// or https://")
    expect(page.locator("#headers-error")).to_contain_text("write each header as name:value")
    expect(page.locator("#name-error")).to_contain_text("exists already")
    for label in ("Name", "URL", "Headers", "Body"):
        expect(page.get_by_label(label, exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("URL", exact=True)).to_have_value("ftp://example.test/x")
    expect(page.get_by_label("Body", exact=True)).to_have_value("{not json")
    expect(page.get_by_label("Body type")).to_have_value("JSON")
    assert [w.name for w in console.call(webhooks.list_all(console.runtime, acme))] == ["orders"]
    # the Check button names them all too (nothing is called)
    page.get_by_role("button", name="Check").click()
    result = page.locator("#check-result")
    expect(result).to_contain_text("not valid JSON")
    expect(result).to_contain_text("http:// or https://")


def test_plain_http_is_refused_with_the_other_errors_of_the_form(
    page: Any, console: Console
) -> None:
    account, _ = console.account("nohttp")
    sign_in(page, console, console.user(account, "admin@nohttp.test"))
    page.goto(f"{console.base_url}/webhooks/new")
    page.get_by_label("Name", exact=True).fill("plain")
    page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/hook")
    page.get_by_label("Query parameters").fill("no equals sign")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#url-error")).to_contain_text("ask your operator to enable HTTP")
    expect(page.locator("#query-error")).to_contain_text("write each parameter as name=value")
    assert console.call(webhooks.list_all(console.runtime, account)) == []


def test_plain_http_is_refused_at_the_url_with_the_advice_without_http_enablement(
    page: Any, console: Console
) -> None:
    account, _ = console.account("nohttp")
    who = console.user(account, "admin@nohttp.test")
    sign_in(page, console, who)
    page.goto(f"{console.base_url}/webhooks/new")
    expect(page.get_by_text("Plain http:// is not enabled")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("plain")
    page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/hook")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#url-error")).to_contain_text("ask your operator to enable HTTP")
    assert console.call(webhooks.list_all(console.runtime, account)) == []
    # the internal webhook's URL runs in-process: offered ready-made, and saved
    internal = webhooks.internal_urls(console.runtime)["prod"]
    expect(page.locator("#url-hint")).to_contain_text(internal)
    page.get_by_label("URL", exact=True).fill(internal)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{console.base_url}/webhooks")
    assert [w.spec.url for w in console.call(webhooks.list_all(console.runtime, account))] == [
        internal
    ]


def test_delete_a_webhook(admin_page: Any, console: Console, acme: Any) -> None:
    saved = saved_webhook(console, acme, "https://example.test/hook")
    page = admin_page
    page.goto(f"{console.base_url}/webhooks/{saved.id}")
    page.get_by_role("button", name="Delete webhook").click()
    page.wait_for_url(f"{console.base_url}/webhooks")
    expect(page.get_by_text("No webhook yet")).to_be_visible()


def test_a_viewer_sees_no_secrets_and_cannot_change_anything(
    viewer_page: Any, console: Console, acme: Any
) -> None:
    saved = saved_webhook(
        console,
        acme,
        "https://example.test/hook",
        auth={"type": "basic", "username": "shop", "password": "s3cret-pass"},
        headers={"Authorization-Token": "tok-999"},
    )
    page = viewer_page
    page.goto(f"{console.base_url}/webhooks")
    expect(page.get_by_role("link", name="Add webhook")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Check"))).to_have_count(0)
    page.goto(f"{console.base_url}/webhooks/{saved.id}")
    html = page.content()
    assert "s3cret-pass" not in html and "tok-999" not in html
    expect(page.get_by_text("Password: set")).to_be_visible()
    for name in ("Save", "Check", "Delete webhook"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_label("Name", exact=True)).to_be_disabled()
    # the server refuses a viewer's change even with a valid CSRF token
    token = csrf_of(page)
    for path in (f"/webhooks/{saved.id}/delete", f"/webhooks/{saved.id}/check", "/webhooks"):
        response = page.request.post(
            console.base_url + path,
            form={"csrf_token": token, "name": "x", "url": "https://example.test/"},
            max_redirects=0,
        )
        assert response.status == 403, path
        assert "needs an admin" in response.text()
    assert page.request.get(f"{console.base_url}/webhooks/new").status == 403
    assert console.call(webhooks.get(console.runtime, acme, saved.id)).name == "orders"


def test_another_account_cannot_open_a_webhook_by_its_url(
    browser: Any, console: Console, acme: Any
) -> None:
    saved = saved_webhook(console, acme, "https://example.test/hook")
    other, _ = console.account("b-corp", http_enabled=True)
    who = console.user(other, "admin@b.test")
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in(page, console, who)
        response = page.goto(f"{console.base_url}/webhooks/{saved.id}")
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        token = csrf_of(page)
        for path in (f"/webhooks/{saved.id}", f"/webhooks/{saved.id}/delete"):
            response = page.request.post(
                console.base_url + path,
                form={"csrf_token": token, "name": "x", "url": "https://example.test/"},
                max_redirects=0,
            )
            assert response.status == 404, path
    finally:
        context.close()
    assert console.call(webhooks.get(console.runtime, acme, saved.id)).name == "orders"


def test_a_post_without_the_csrf_token_is_refused(
    admin_page: Any, console: Console, acme: Any
) -> None:
    page = admin_page
    form = {"name": "sneaky", "url": "https://example.test/hook"}
    response = page.request.post(console.base_url + "/webhooks", form=form, max_redirects=0)
    assert response.status == 403 and "out of date" in response.text()
    forged = {**form, "csrf_token": "not-the-session-token"}
    response = page.request.post(console.base_url + "/webhooks", form=forged, max_redirects=0)
    assert response.status == 403
    assert console.call(webhooks.list_all(console.runtime, acme)) == []
    # with the page's token it goes through (the refusals were about the token only)
    page.goto(f"{console.base_url}/webhooks")
    response = page.request.post(
        console.base_url + "/webhooks", form={**form, "csrf_token": csrf_of(page)}, max_redirects=0
    )
    assert response.status == 303


def test_check_works_without_javascript(browser: Any, console: Console, admin: Credentials) -> None:
    rec = console.enter(receiver())
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, console, admin)
        page.goto(f"{console.base_url}/webhooks/new")
        page.get_by_label("Name", exact=True).fill("nojs")
        page.get_by_label("URL", exact=True).fill(rec.url)
        page.get_by_role("button", name="Check").click()  # submits the form: a new page
        expect(page.locator("#check-result [data-ok=true]")).to_be_visible()
        expect(page.get_by_label("URL", exact=True)).to_have_value(rec.url)
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(f"{console.base_url}/webhooks")
        expect(page.get_by_role("row").filter(has_text="nojs")).to_be_visible()
    finally:
        context.close()
