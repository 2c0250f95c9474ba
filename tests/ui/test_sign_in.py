"""Signing in and out of the console, in a real browser."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from support.console import Console, Credentials, screenshot, sign_in


def test_sign_in_shows_the_account_and_sign_out_ends_the_session(
    page: Any, console: Console, admin: Credentials
) -> None:
    page.goto(f"{console.base_url}/")
    assert page.url.startswith(f"{console.base_url}/sign-in")  # no session: sign in first
    screenshot(page, "console-sign-in")
    sign_in(page, console, admin)
    assert page.get_by_role("heading", name="acme").is_visible()
    assert page.get_by_role("navigation", name="Sections").get_by_role("link", name="Webhooks")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{console.base_url}/sign-in")
    page.goto(f"{console.base_url}/")
    assert page.url.startswith(f"{console.base_url}/sign-in")


def test_too_many_failed_sign_ins_show_a_clear_message(
    page: Any, console_with: Any, tmp_path: Any
) -> None:
    console = console_with(sign_in_max_failures=2)
    account, _ = console.account("acme")
    who = console.user(account, "admin@acme.test")
    page.goto(f"{console.base_url}/sign-in")
    for _ in range(2):
        page.get_by_label("E-mail").fill(who.email)
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("wrong e-mail or password")
    page.get_by_label("E-mail").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("too many failed sign-ins")
    expect(page.get_by_role("alert")).to_contain_text("try again in 15 minutes")
    assert page.url.startswith(f"{console.base_url}/sign-in")
