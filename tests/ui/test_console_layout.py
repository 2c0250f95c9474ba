"""Layout a person notices: the Deliveries filters line up (the date fields as wide as
the others), Settings keeps the short-URL token in a section of its own, away from
the signing secret, and the webhook form fits the narrowest phone; at a laptop's width
and a phone's."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from support.console import Console


@pytest.mark.parametrize("width", [1280, 390])
def test_the_deliveries_date_filters_are_as_wide_as_the_other_fields(
    admin_page: Any, console: Console, width: int
) -> None:
    page = admin_page
    page.set_viewport_size({"width": width, "height": 860})
    page.goto(f"{console.base_url}/deliveries")
    widths = {
        name: page.locator(f"#f-{name}").bounding_box()["width"]
        for name in ("status", "webhook", "execution", "since", "until")
    }
    assert widths["since"] == pytest.approx(widths["execution"], abs=1), widths
    assert widths["until"] == pytest.approx(widths["status"], abs=1), widths


def test_the_short_url_token_has_a_section_of_its_own(
    admin_page: Any, console: Console, acme: Any
) -> None:
    page = admin_page
    page.goto(f"{console.base_url}/settings")
    short_links = page.get_by_role("region", name="Short links")
    expect(short_links).to_contain_text(acme.short_token)
    expect(short_links.get_by_role("link", name="Short links")).to_have_attribute(
        "href", "/short-links"
    )
    expect(page.get_by_role("region", name="Signing secret")).not_to_contain_text(acme.short_token)


def test_settings_fit_a_phone_with_a_long_address_in_the_users_table(
    admin_page: Any, console: Console, acme: Any
) -> None:
    console.user(acme, "a-rather-long-address-for-a-phone@acme.test", "viewer")
    page = admin_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{console.base_url}/settings")
    expect(page.get_by_role("region", name="Users")).to_contain_text("a-rather-long-address")
    # the table scrolls inside its frame; the page itself does not scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("width", [390, 320])
def test_the_webhook_form_fits_a_phone(admin_page: Any, console: Console, width: int) -> None:
    """The smallest phones are 320 CSS pixels wide: the form's hints (with the internal
    webhook's long URLs) wrap instead of widening the page."""
    page = admin_page
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{console.base_url}/webhooks/new")
    expect(page.get_by_role("button", name="Save")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.get_by_label("URL", exact=True).bounding_box()
    assert box is not None and box["x"] + box["width"] <= width
