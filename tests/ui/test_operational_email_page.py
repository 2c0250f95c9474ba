"""Settings → "Operational events by e-mail" in a real browser: an admin names the address
(a wrong one is shown at the field), empties it again; a viewer cannot change it."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from flowhook.usecases import operational_email
from support.console import Console


def test_an_admin_names_the_operational_e_mail_address_a_viewer_cannot(
    admin_page: Any, viewer_page: Any, console: Console, acme: Any
) -> None:
    page = admin_page
    page.goto(f"{console.base_url}/settings")
    section = page.get_by_role("region", name="Operational events by e-mail")
    field = page.get_by_label("E-mail address for operational events")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    wrong = page.request.post(  # the browser's own check would stop it before sending
        f"{console.base_url}/settings/operational-email",
        form={"csrf_token": token, "email": "not an address"},
        max_redirects=0,
    )
    assert wrong.status == 422 and 'id="operational_email-error"' in wrong.text()
    field.fill("ops@shop.test")
    section.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    saved = console.call(operational_email.operational_email(console.runtime, acme))
    assert saved == "ops@shop.test"
    expect(field).to_have_value("ops@shop.test")
    field.fill("")
    section.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    assert console.call(operational_email.operational_email(console.runtime, acme)) is None

    viewer_page.goto(f"{console.base_url}/settings")
    expect(viewer_page.get_by_label("E-mail address for operational events")).to_be_disabled()
