"""Settings → "Operational events and retention" → the e-mail address, in a real browser:
an admin names the address (a wrong one is shown at the field), empties it again; a viewer
cannot change it. The address sits in one card with the operational webhook and retention."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from flowhook.usecases import operational_email
from support.console import Console


def test_operational_events_and_retention_are_one_card(admin_page: Any, console: Console) -> None:
    page = admin_page
    page.goto(f"{console.base_url}/settings")
    section = page.get_by_role("region", name="Operational events and retention")
    for label in (
        "Webhook for operational events",
        "E-mail address for operational events",
        "Keep executions and deliveries (days)",
    ):
        expect(section.get_by_label(label)).to_be_visible()
    # one heading for the card, each field saved by its own button, named for it
    expect(section.get_by_role("heading")).to_have_count(1)
    expect(page.get_by_role("heading", name=re.compile("Operational"))).to_have_count(1)
    expect(section.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    expect(section.get_by_role("button", name=re.compile("^Save "))).to_have_count(3)


def test_an_admin_names_the_operational_e_mail_address_a_viewer_cannot(
    admin_page: Any, viewer_page: Any, console: Console, acme: Any
) -> None:
    page = admin_page
    page.goto(f"{console.base_url}/settings")
    section = page.get_by_role("region", name="Operational events and retention")
    field = section.get_by_label("E-mail address for operational events")
    save = section.get_by_role("button", name="Save operational e-mail address")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    wrong = page.request.post(  # the browser's own check would stop it before sending
        f"{console.base_url}/settings/operational-email",
        form={"csrf_token": token, "email": "not an address"},
        max_redirects=0,
    )
    assert wrong.status == 422 and 'id="operational_email-error"' in wrong.text()
    field.fill("ops@shop.test")
    save.click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    saved = console.call(operational_email.operational_email(console.runtime, acme))
    assert saved == "ops@shop.test"
    expect(field).to_have_value("ops@shop.test")
    field.fill("")
    save.click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    assert console.call(operational_email.operational_email(console.runtime, acme)) is None

    viewer_page.goto(f"{console.base_url}/settings")
    expect(viewer_page.get_by_label("E-mail address for operational events")).to_be_disabled()
