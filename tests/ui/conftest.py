"""Browser tests of the console: a real server (tests/support/console.py) driven by
Playwright's sync API in Debian's Chromium (``/usr/bin/chromium``; Playwright cannot
download a browser here).

Without ``/usr/bin/chromium`` these tests are skipped, unless
``FLOWHOOK_REQUIRE_BROWSER=1`` (CI sets it), which makes that a failure. One browser runs
per test module (tests here are not async: see ``browser``); each test gets a fresh
server, database and browser context.

Fixtures: ``console`` (the server; ``console.account()``, ``console.user()``, ``call``),
``browser``, ``page`` (a new page, signed in as nobody), ``signed_in(page, credentials)``
(fills the sign-in form), ``admin`` / ``viewer`` (credentials in one account ``acme``),
``admin_page`` / ``viewer_page`` (pages signed in as them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.app import settings_for
from support.console import Console, Credentials, console_server, sign_in

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module, closed when the module's tests end: Playwright's sync
    API keeps an event loop running in this thread meanwhile, so every test in tests/ui is
    a plain (sync) function, and async tests of other modules run once it is closed
    (pytest's "package" scope does not end with a folder that has no ``__init__.py``)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found (apt-get install chromium)"
        if os.environ.get("FLOWHOOK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and FLOWHOOK_REQUIRE_BROWSER=1 forbids skipping", False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def console_with(tmp_path: Path) -> Iterator[Callable[..., Console]]:
    """``console_with(setting=value)``: a server with settings overridden (one per test)."""
    from contextlib import ExitStack

    stack = ExitStack()

    def make(**overrides: Any) -> Console:
        settings = settings_for(f"sqlite:///{tmp_path}/flowhook.db", tmp_path, **overrides)
        return stack.enter_context(console_server(settings))

    with stack:
        yield make


@pytest.fixture
def console(console_with: Callable[..., Console]) -> Console:
    return console_with()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def acme(console: Console) -> Any:
    account, _key = console.account("acme", http_enabled=True)
    return account


@pytest.fixture
def admin(console: Console, acme: Any) -> Credentials:
    return console.user(acme, "admin@acme.test", "admin")


@pytest.fixture
def viewer(console: Console, acme: Any) -> Credentials:
    return console.user(acme, "viewer@acme.test", "viewer")


@pytest.fixture
def admin_page(page: Any, console: Console, admin: Credentials) -> Any:
    sign_in(page, console, admin)
    return page


@pytest.fixture
def viewer_page(browser: Any, console: Console, viewer: Credentials) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, console, viewer)
        yield page
    finally:
        context.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every browser test starts Chromium and a server and takes seconds: `make test` runs
    them, `make test-fast` (-m 'not slow') leaves them out."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.slow)
