"""The Settings page's Channels section in a real browser: an admin chooses the SMS
adapter and edits the SMPP gateway through the use case of ``PUT /v1/account/channels``
(the password write-only: shown as set, never sent back; empty keeps it), a gateway the
egress policy forbids is refused at its field, saving the account's other settings keeps
the channels, and a viewer sees the section read-only."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from flowhook.channels.service import Channels
from flowhook.store import accounts as account_repo
from support.console import Console


def stored(console: Console, account_id: str) -> Any:
    """The account's channel settings as an adapter gets them (real passwords)."""
    rt = console.runtime
    account = console.call(rt.store.read(lambda c: account_repo.get(c, account_id)))
    assert account is not None
    return rt.services.get(Channels).options(account)


def test_an_admin_sets_the_sms_adapter_and_its_write_only_password(
    admin_page: Any, console: Console, acme: Any
) -> None:
    page = admin_page
    page.goto(f"{console.base_url}/settings")
    section = page.get_by_role("region", name="Channels")
    expect(section.locator("#ch-smpp_password-state")).to_have_text("not set")
    section.get_by_label("SMS adapter").select_option("smpp")
    section.get_by_label("SMPP host").fill("127.0.0.1")
    section.get_by_label("SMPP port").fill("9")  # nothing listens: the bind retries
    section.get_by_label("SMPP system id").fill("flowhook")
    section.get_by_label("SMPP password").fill("bindpw1")
    section.get_by_label("Verified e-mail senders").fill("orders@shop.test")
    section.get_by_role("button", name="Save channels").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    options = stored(console, acme.id)
    assert options.sms == "smpp" and options.email_senders == ["orders@shop.test"]
    assert options.smpp is not None and options.smpp.password == "bindpw1"
    assert options.smpp.host == "127.0.0.1" and options.smpp.port == 9
    section = page.get_by_role("region", name="Channels")
    expect(section.locator("#ch-smpp_password-state")).to_have_text("set")
    expect(section.get_by_label("SMPP password")).to_have_value("")
    assert "bindpw1" not in page.content()

    # an empty password keeps the stored one; a forbidden host is refused at its field
    section.get_by_label("SMPP host").fill("10.1.2.3")
    section.get_by_role("button", name="Save channels").click()
    expect(page.locator("#ch_smpp_host-error")).to_contain_text("egress policy")
    assert "bindpw1" not in page.content()
    assert stored(console, acme.id).smpp.host == "127.0.0.1"
    page.get_by_role("region", name="Channels").get_by_label("SMPP host").fill("127.0.0.2")
    page.get_by_role("region", name="Channels").get_by_role("button", name="Save channels").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    options = stored(console, acme.id)
    assert options.smpp.host == "127.0.0.2" and options.smpp.password == "bindpw1"

    # the account form saves apart and leaves the channels as they are
    page.get_by_label("Time zone").fill("Asia/Kolkata")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved")
    options = stored(console, acme.id)
    assert options.sms == "smpp" and options.smpp.password == "bindpw1"


def test_a_viewer_sees_the_channels_read_only(
    viewer_page: Any, console: Console, acme: Any
) -> None:
    page = viewer_page
    page.goto(f"{console.base_url}/settings")
    section = page.get_by_role("region", name="Channels")
    expect(section.get_by_label("SMS adapter")).to_be_disabled()
    expect(section.get_by_role("button", name="Save channels")).to_have_count(0)
    response = page.request.post(f"{console.base_url}/settings/channels", form={"sms": "simulator"})
    assert response.status in (403, 422), response.status
    assert stored(console, acme.id).sms == "simulator"
