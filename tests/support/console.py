"""A flowhook server (API + console) in a thread of its own, for browser tests.

Playwright's sync API drives the browser from the test's thread, which must not run an
event loop; the server, its runtime and any local receivers run on the loop of a
background thread. ``Console.call`` runs a coroutine there (arrange data through the use
cases) and ``Console.enter`` keeps an async context manager (a receiver) open until the
test ends.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from flowhook.domain.account import Account
from flowhook.runtime import Runtime
from flowhook.settings import Settings
from flowhook.usecases import accounts, users
from support.app import Api, running_api

T = TypeVar("T")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str
    account: Account


@dataclass
class Console:
    base_url: str
    api: Api
    loop: asyncio.AbstractEventLoop
    _exits: AsyncExitStack = field(default_factory=AsyncExitStack)

    @property
    def runtime(self) -> Runtime:
        return self.api.runtime

    def call(self, awaitable: Awaitable[T], timeout: float = 30.0) -> T:
        async def run() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    def enter(self, manager: AbstractAsyncContextManager[T]) -> T:
        return self.call(self._exits.enter_async_context(manager))

    def account(self, name: str = "acme", **settings: Any) -> tuple[Account, str]:
        """A new account and its API key."""
        created = self.call(accounts.create(self.runtime, accounts.NewAccount(name=name)))
        if settings:
            patch = accounts.OperatorPatch(**settings)
            account = self.call(accounts.operator_update(self.runtime, created.account.id, patch))
            return account, created.api_key
        return created.account, created.api_key

    def user(
        self, account: Account, email: str, role: str = "admin", *, one_time: bool = False
    ) -> Credentials:
        """A user to sign in as; with a password of their own unless ``one_time``."""
        form = users.NewUser.model_validate({"email": email, "role": role})
        created = self.call(users.create(self.runtime, account, form, one_time=one_time))
        return Credentials(created.user.email, created.password, account)


@contextmanager
def console_server(settings: Settings) -> Iterator[Console]:
    """Serve ``settings`` on 127.0.0.1 (a free port) from a background thread."""
    loop = asyncio.new_event_loop()
    ready: list[Console] = []
    failed: list[BaseException] = []
    started = threading.Event()
    stop: asyncio.Event | None = None

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        try:
            async with running_api(settings) as api:
                console = Console(api.base_url, api, loop)
                ready.append(console)
                started.set()
                async with console._exits:
                    await stop.wait()
        except BaseException as exc:
            failed.append(exc)
            started.set()
            raise

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        except BaseException:  # reported through ``failed``
            pass
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="console-server", daemon=True)
    thread.start()
    started.wait(60)
    if failed:
        raise failed[0]
    if not ready:
        raise RuntimeError("the console server did not start within 60 s")
    try:
        yield ready[0]
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)


def sign_in(page: Any, console: Console, who: Credentials, lands_on: str = "/") -> None:
    """Sign in through the form, as a person would (and land on ``lands_on``)."""
    page.goto(f"{console.base_url}/sign-in")
    page.get_by_label("E-mail").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{console.base_url}{lands_on}")


def screenshot(page: Any, name: str) -> None:
    """Save a screenshot to docs/img/NAME.png when FLOWHOOK_SCREENSHOTS=1 (the README shows
    them); normal runs leave the tree alone."""
    if os.environ.get("FLOWHOOK_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
