"""The console with the keyboard only (issue 18: every page "is usable by keyboard" and has
labelled form fields): sign in, skip to the content, reach Webhooks from the navigation,
add a webhook, Check it (green tick) and save it, with Tab, Shift+Tab, Enter, Space,
arrows and typing, never a click; focus is visible on every stop; every visible field of
the main pages has an accessible label."""

from __future__ import annotations

import base64
from typing import Any

from playwright.sync_api import expect

from flowhook.usecases import webhooks
from support.console import Console, Credentials, sign_in
from support.receiver import receiver

MAX_TABS = 60
"""More Tab presses than any page here has stops: a stop not reached by then is missing."""

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  // WCAG 2.2 "focus appearance": an indicator at least 2 CSS pixels thick (the browser's
  // own thin ring does not count)
  const outlined = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  return {
    tag: el.tagName.toLowerCase(),
    id: el.id,
    text: (el.innerText || el.value || '').trim(),
    cls: el.className,
    visible: outlined || style.boxShadow !== 'none',
    inView: (() => { const r = el.getBoundingClientRect();
      return r.width > 1 && r.height > 1 && r.right > 0 && r.bottom > 0; })(),
  };
}"""


def focused(page: Any) -> dict[str, Any]:
    """What has the focus now, and whether a person can see where it is."""
    info = page.evaluate(FOCUSED)
    assert info is not None, "nothing has the focus"
    assert info["visible"], f"no visible focus indicator on {info}"
    assert info["inView"], f"the focused element is not on screen: {info}"
    return dict(info)


def tab_to(page: Any, *, id: str = "", text: str = "", back: bool = False) -> dict[str, Any]:
    """Press Tab (Shift+Tab with ``back``) until the element with ``id`` or the ``text``
    has the focus, checking that every stop on the way shows its focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        info = focused(page)
        if (id and info["id"] == id) or (text and info["text"] == text):
            return info
    raise AssertionError(f"{id or text!r} not reached with the keyboard")


def test_add_check_and_save_a_webhook_with_the_keyboard_only(
    page: Any, console: Console, admin: Credentials, acme: Any
) -> None:
    rec = console.enter(receiver())
    page.goto(f"{console.base_url}/sign-in")
    # the e-mail field has the focus on arrival: type, Tab, type, Enter
    assert focused(page)["id"] == "email"
    page.keyboard.type(admin.email)
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "password"
    page.keyboard.type(admin.password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{console.base_url}/")

    # the first Tab stop is "Skip to content", shown when focused; Enter moves to <main>
    page.keyboard.press("Tab")
    skip = focused(page)
    assert (skip["text"], skip["cls"]) == ("Skip to content", "skip")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "content"
    # back up into the navigation (Shift+Tab) and open Webhooks
    tab_to(page, text="Webhooks", back=True)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{console.base_url}/webhooks")

    tab_to(page, text="Add webhook")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{console.base_url}/webhooks/new")

    tab_to(page, id="name")
    page.keyboard.type("orders")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "method"
    page.keyboard.type("PUT")  # type-ahead picks the option on a closed select
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "url"
    page.keyboard.type(rec.url)
    page.keyboard.press("Escape")  # closes the URL suggestions, if open
    tab_to(page, text="none")  # the checked radio of the group is its one stop
    page.keyboard.press("ArrowDown")  # -> Basic
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "username"
    page.keyboard.type("shop")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "password"
    page.keyboard.type("s3cret-pass")

    page.evaluate("window.notReloaded = true")
    tab_to(page, text="Check")
    page.keyboard.press("Space")
    result = page.locator("#check-result")
    expect(result.locator("[data-ok=true]")).to_be_visible()
    expect(result).to_contain_text("OK · 200")
    assert page.evaluate("window.notReloaded") is True
    assert focused(page)["text"] == "Check"  # the focus stays where the user was
    sent = rec.received[-1]
    assert sent.method == "PUT"
    assert (
        sent.headers["Authorization"] == "Basic " + base64.b64encode(b"shop:s3cret-pass").decode()
    )

    tab_to(page, text="Save")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{console.base_url}/webhooks")
    saved = console.call(webhooks.list_all(console.runtime, acme))
    assert [(w.name, w.spec.method, w.spec.url, w.spec.auth.type) for w in saved] == [
        ("orders", "PUT", rec.url, "basic")
    ]


LABELLED = """el => el.labels.length > 0
  || !!(el.getAttribute('aria-label') || '').trim()
  || !!(el.getAttribute('aria-labelledby') || '').trim()"""


def test_every_field_of_the_main_pages_is_labelled_and_every_tab_stop_shows_its_focus(
    page: Any, console: Console, admin: Credentials
) -> None:
    sign_in(page, console, admin)
    pages = ["/", "/webhooks", "/webhooks/new", "/deliveries", "/flows", "/executions"]
    pages += ["/settings", "/agents", "/short-links"]
    unlabelled: list[str] = []
    unseen_focus: list[str] = []
    fields_seen = stops_seen = 0
    for path in pages:
        page.goto(f"{console.base_url}{path}")
        fields = page.locator("input:visible, select:visible, textarea:visible")
        for i in range(fields.count()):
            field = fields.nth(i)
            fields_seen += 1
            if not field.evaluate(LABELLED):
                unlabelled.append(f"{path}: {field.evaluate('el => el.outerHTML')[:120]}")
        # Tab through the whole page: every stop must show where the focus is
        for _ in range(MAX_TABS * 2):
            page.keyboard.press("Tab")
            info = page.evaluate(FOCUSED)
            if info is None:  # past the last stop
                break
            stops_seen += 1
            if not (info["visible"] and info["inView"]):
                unseen_focus.append(f"{path}: {info}")
        else:
            raise AssertionError(f"{path}: Tab never left the page")
    assert fields_seen > 20 and stops_seen > 60  # the loops saw the forms and the links
    assert unlabelled == []
    assert unseen_focus == [], "\n".join(unseen_focus)
