"""A one-time password (printed by ``flowhook user create``, shown on the Settings page)
signs in once: until the user has chosen their own, every console page sends them to the
change-password page, which checks the current password and the new one twice."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from support.console import Console, Credentials, sign_in


def change(page: Any, current: str, new: str, again: str) -> None:
    page.get_by_label("Current password").fill(current)
    page.get_by_label("New password (at least 10 characters)").fill(new)
    page.get_by_label("New password again").fill(again)
    page.get_by_role("button", name="Change password").click()


def test_a_one_time_password_must_be_replaced_before_any_page(
    page: Any, console: Console, acme: Any
) -> None:
    who = console.user(acme, "ops@acme.test", "admin", one_time=True)
    sign_in(page, console, who, "/password")
    expect(page.get_by_role("alert")).to_contain_text("one-time password")
    for path in ("/", "/webhooks", "/settings", "/executions"):
        page.goto(f"{console.base_url}{path}")
        assert page.url == f"{console.base_url}/password", path
    # htmx requests are sent there too, and changes are refused until then
    answer = page.request.get(f"{console.base_url}/deliveries", headers={"HX-Request": "true"})
    assert answer.headers.get("hx-redirect") == "/password"

    change(page, "not the password", "a brand new password", "a brand new password")
    expect(page.get_by_text("not your current password")).to_be_visible()
    change(page, who.password, "a brand new password", "another new password")
    expect(page.get_by_text("not the same as the new password")).to_be_visible()
    change(page, who.password, "short", "short")  # the browser holds it back (minlength)
    assert page.locator("#new_password").evaluate("field => field.validity.tooShort")
    assert page.url == f"{console.base_url}/password"
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    fields = {"current_password": who.password, "new_password": "short", "repeat_password": "short"}
    posted = page.request.post(
        f"{console.base_url}/password", form={"csrf_token": token or "", **fields}
    )
    assert posted.status == 422 and "at least 10 characters" in posted.text()
    fields["csrf_token"] = "forged"
    assert page.request.post(f"{console.base_url}/password", form=fields).status == 403

    change(page, who.password, "a brand new password", "a brand new password")
    page.wait_for_url(f"{console.base_url}/?password=changed")
    page.goto(f"{console.base_url}/webhooks")
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    # the one-time password is gone; the new one signs in straight to the console
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{console.base_url}/sign-in")
    page.get_by_label("E-mail").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong e-mail or password")
    sign_in(page, console, who.__class__(who.email, "a brand new password", acme))


def test_a_changed_password_is_confirmed_on_the_page_that_follows(
    admin_page: Any, console: Console, admin: Credentials
) -> None:
    page = admin_page
    page.goto(f"{console.base_url}/password")
    change(page, admin.password, "a brand new password", "a brand new password")
    page.wait_for_url(f"{console.base_url}/?password=changed")
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    page.goto(f"{console.base_url}/")
    expect(page.get_by_text("Your password is changed")).to_have_count(0)
