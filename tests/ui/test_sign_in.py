"""Signing in and out of the console, in a real browser."""

from __future__ import annotations

from typing import Any

from support.console import Console, Credentials, sign_in


def test_sign_in_shows_the_account_and_sign_out_ends_the_session(
    page: Any, console: Console, admin: Credentials
) -> None:
    page.goto(f"{console.base_url}/")
    assert page.url.startswith(f"{console.base_url}/sign-in")  # no session: sign in first
    sign_in(page, console, admin)
    assert page.get_by_role("heading", name="acme").is_visible()
    assert page.get_by_role("navigation", name="Sections").get_by_role("link", name="Webhooks")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{console.base_url}/sign-in")
    page.goto(f"{console.base_url}/")
    assert page.url.startswith(f"{console.base_url}/sign-in")
