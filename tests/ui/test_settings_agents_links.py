"""The Settings, Agents and Short links pages in a real browser."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import update

from flowhook.store.tables import agents as agent_table
from flowhook.usecases import accounts, agents, short_urls, users
from flowhook.usecases.agents import NewAgent
from flowhook.usecases.short_urls import NewShortUrl
from support.console import Console, Credentials, screenshot, sign_in


def test_the_whitelist_cannot_lock_the_admin_out_and_settings_are_saved(
    admin_page: Any, console: Console, admin: Credentials
) -> None:
    page = admin_page
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("region", name="HTTP enablement")).to_contain_text("enabled")
    page.get_by_label("IP whitelist").fill("203.0.113.0/24")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#ip_whitelist-error")).to_contain_text("would lock the account out")
    expect(page.locator("#ip_whitelist-error")).to_contain_text("127.0.0.1")
    page.get_by_label("IP whitelist").fill("127.0.0.0/8\n203.0.113.0/24")
    page.get_by_label("Time zone").fill("Asia/Kolkata")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    signed = console.call(users.sign_in(console.runtime, admin.email, admin.password, "127.0.0.1"))
    saved = signed.visitor.account  # as stored now
    assert saved.ip_whitelist == ["127.0.0.0/8", "203.0.113.0/24"]
    assert saved.timezone == "Asia/Kolkata"
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#timezone-error")).to_contain_text("not an IANA time zone")


def test_a_refused_settings_save_shows_every_fields_error_at_once(
    admin_page: Any, console: Console, admin: Credentials
) -> None:
    """A whitelist that locks the admin out, a time zone that is none and another account's
    short domain: the three messages at their fields in one answer, nothing saved."""
    other, _ = console.account("other-corp")
    domain = accounts.AccountSettings(short_domain="go.other.test")
    console.call(accounts.update_settings(console.runtime, other, domain, address=None))
    page = admin_page
    page.goto(f"{console.base_url}/settings")
    page.get_by_label("IP whitelist").fill("203.0.113.0/24")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_label("Short-link domain").fill("go.other.test")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#ip_whitelist-error")).to_contain_text("would lock the account out")
    expect(page.locator("#timezone-error")).to_contain_text("not an IANA time zone")
    expect(page.locator("#short_domain-error")).to_contain_text("another account's short domain")
    for label in ("IP whitelist", "Time zone", "Short-link domain"):
        expect(page.get_by_label(label)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Short-link domain")).to_have_value("go.other.test")
    signed = console.call(users.sign_in(console.runtime, admin.email, admin.password, "127.0.0.1"))
    kept = signed.visitor.account  # as stored now
    assert (kept.ip_whitelist, kept.timezone, kept.short_domain) == ([], "UTC", None)


def test_an_admin_reveals_and_rotates_the_signing_secret_a_viewer_cannot(
    admin_page: Any, viewer_page: Any, console: Console, acme: Any
) -> None:
    secret = console.call(accounts.signing_secret(console.runtime, acme)).signing_secret
    page = admin_page
    page.goto(f"{console.base_url}/settings")
    assert secret not in page.content()  # not until asked for
    page.get_by_role("link", name="Reveal signing secret").click()
    expect(page.locator("#signing-secret")).to_have_text(secret)
    page.get_by_role("button", name="Rotate signing secret").click()
    expect(page.get_by_role("status").first).to_contain_text("new signing secret")
    rotated = console.call(accounts.signing_secret(console.runtime, acme)).signing_secret
    assert rotated != secret
    expect(page.locator("#signing-secret")).to_have_text(rotated)

    viewer_page.goto(f"{console.base_url}/settings")
    html = viewer_page.content()
    assert rotated not in html and acme.short_token not in html
    expect(viewer_page.get_by_text("Only admins can see the signing secret")).to_be_visible()
    expect(viewer_page.get_by_role("button", name="Save settings")).to_have_count(0)
    assert viewer_page.request.get(f"{console.base_url}/settings/signing-secret").status == 403


def test_an_admin_adds_a_user_whose_one_time_password_signs_in_then_removes_them(
    admin_page: Any, browser: Any, console: Console, acme: Any
) -> None:
    page = admin_page
    page.goto(f"{console.base_url}/settings")
    page.get_by_label("New user's e-mail").fill("new@acme.test")
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Add user").click()
    password = page.locator("#new-password").inner_text()
    context = browser.new_context()
    try:
        other = context.new_page()
        # a one-time password: the new user chooses their own first (a viewer may)
        sign_in(other, console, Credentials("new@acme.test", password, acme), "/password")
        other.get_by_label("Current password").fill(password)
        other.get_by_label("New password (at least 10 characters)").fill("my own password")
        other.get_by_label("New password again").fill("my own password")
        other.get_by_role("button", name="Change password").click()
        other.wait_for_url(f"{console.base_url}/?password=changed")
        expect(other.get_by_text("new@acme.test · viewer")).to_be_visible()
        page.get_by_role("row").filter(has_text="new@acme.test").get_by_role(
            "button", name="Remove"
        ).click()
        page.wait_for_url(f"{console.base_url}/settings")
        expect(page.get_by_role("row").filter(has_text="new@acme.test")).to_have_count(0)
        other.reload()  # the removed user's session ended with them
        assert other.url.startswith(f"{console.base_url}/sign-in")
    finally:
        context.close()
    assert [u.email for u in console.call(users.list_all(console.runtime, acme))] == [
        "admin@acme.test"
    ]


def test_agents_show_who_is_busy_and_an_admin_pauses_and_unpauses(
    admin_page: Any, console: Console, acme: Any
) -> None:
    rt = console.runtime
    asha = console.call(agents.create(rt, acme, NewAgent(name="Asha", cli="+919876500001")))
    console.call(agents.create(rt, acme, NewAgent(name="Ravi", cli="+919876500002")))
    busy_with = "0f3c2a1e-8d0b-4c55-9a61-0e5b7f1d2c34"
    console.call(
        rt.store.write(
            lambda c: c.execute(
                update(agent_table).where(agent_table.c.id == asha.id).values(busy_with=busy_with)
            )
        )
    )
    page = admin_page
    page.goto(f"{console.base_url}/agents")
    expect(page.get_by_text("2 agents, 1 busy")).to_be_visible()
    asha_row = page.get_by_role("row").filter(has_text="Asha")
    expect(asha_row).to_contain_text("busy")
    expect(asha_row.get_by_role("link", name=busy_with)).to_be_visible()
    ravi_row = page.get_by_role("row").filter(has_text="Ravi")
    ravi_row.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("row").filter(has_text="Ravi")).to_contain_text("paused")
    screenshot(page, "console-agents")
    assert [a.paused for a in console.call(agents.list_all(rt, acme)) if a.name == "Ravi"] == [True]
    page.get_by_role("row").filter(has_text="Ravi").get_by_role("button", name="Unpause").click()
    expect(page.get_by_role("row").filter(has_text="Ravi")).to_contain_text("idle")


def test_short_links_are_listed_with_their_clicks(
    admin_page: Any, console: Console, acme: Any
) -> None:
    rt = console.runtime
    made = console.call(
        short_urls.create(rt, acme, NewShortUrl(long_url="https://example.test/offer?id=7"))
    )
    for _ in range(3):
        console.call(short_urls.follow(rt, made.code, None))
    page = admin_page
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Short links").click()
    row = page.get_by_role("row").filter(has_text=made.code)
    expect(row).to_contain_text("https://example.test/offer?id=7")
    expect(row.get_by_role("cell").nth(1)).to_have_text("3")
    screenshot(page, "console-short-links")


def test_another_accounts_agent_cannot_be_paused(
    admin_page: Any, console: Console, acme: Any
) -> None:
    other, _ = console.account("b-corp")
    theirs = console.call(
        agents.create(console.runtime, other, NewAgent(name="Zed", cli="+919876500009"))
    )
    page = admin_page
    page.goto(f"{console.base_url}/agents")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = page.request.post(
        f"{console.base_url}/agents/{theirs.id}/pause",
        form={"csrf_token": str(token)},
        max_redirects=0,
    )
    assert response.status == 404
    assert not console.call(agents.get(console.runtime, other, theirs.id)).paused


def test_rotation_overlap_public_key_operational_webhook_and_retention_on_settings(
    admin_page: Any, viewer_page: Any, console: Console, acme: Any
) -> None:
    from flowhook.usecases import webhooks
    from flowhook.usecases.webhooks import WebhookIn

    ops = WebhookIn.model_validate({"name": "ops", "url": "https://127.0.0.1:9/ops"})
    saved = console.call(webhooks.create(console.runtime, acme, ops))
    page = admin_page
    page.goto(f"{console.base_url}/settings")

    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    too_long = page.request.post(  # past the field's max (the browser would not send it)
        f"{console.base_url}/settings/signing-secret/rotate",
        form={"csrf_token": token, "overlap_h": "800"},
        max_redirects=0,
    )
    assert too_long.status == 422 and "the overlap is 0 to 720 hours" in too_long.text()
    assert console.call(accounts.signing_secret(console.runtime, acme)).previous_valid_until == []
    page.get_by_label("Old secret keeps signing for (hours)").fill("2")
    page.get_by_role("button", name="Rotate signing secret").click()
    shown = console.call(accounts.signing_secret(console.runtime, acme))
    [until] = shown.previous_valid_until
    assert 2 * 3600 - 60 < until - console.runtime.now() <= 2 * 3600
    expect(page.locator("#secret-overlap")).to_contain_text("still signs deliveries")

    page.get_by_role("button", name="Turn on v1a signatures").click()
    key = console.call(accounts.signing_secret(console.runtime, acme)).public_key
    assert key and key.startswith("whpk_")
    expect(page.locator("#public-key")).to_have_text(key)

    page.get_by_label("Webhook for operational events").select_option(label="ops")
    page.get_by_role("region", name="Operational events and retention").get_by_role(
        "button", name="Save"
    ).first.click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    chosen = console.call(webhooks.operational_webhook(console.runtime, acme))
    assert chosen is not None and chosen.id == saved.id

    zero = page.request.post(
        f"{console.base_url}/settings/retention",
        form={"csrf_token": token, "retention_days": "0"},
        max_redirects=0,
    )
    assert zero.status == 422 and 'id="retention_days-error"' in zero.text()
    page.get_by_label("Keep executions and deliveries (days)").fill("7")
    page.get_by_role("region", name="Operational events and retention").get_by_role(
        "button", name="Save"
    ).last.click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    assert console.call(accounts.retention(console.runtime, acme)).days == 7
    expect(page.get_by_label("Keep executions and deliveries (days)")).to_have_value("7")
    screenshot(page, "console-settings")

    viewer_page.goto(f"{console.base_url}/settings")
    expect(viewer_page.locator("#public-key")).to_have_text(key)  # public by design
    expect(viewer_page.locator("#secret-overlap")).to_contain_text("still signs")
    expect(viewer_page.get_by_label("Webhook for operational events")).to_be_disabled()
    expect(viewer_page.get_by_role("button", name="Turn off v1a signatures")).to_have_count(0)
    html = viewer_page.content()
    assert shown.signing_secret not in html
