"""The console over plain HTTP, for page-rendering tests without a browser: a signed-in
user's cookie-keeping client that sends the CSRF token as the console's forms do."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from flowhook.domain.account import Account
from flowhook.usecases import accounts, users
from support.app import Api

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Visitor:
    """One user's browser session, minus the browser."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf_token = ""

    async def get(self, path: str, **headers: str) -> tuple[int, str, Any]:
        async with self.session.get(
            self.api.base_url + path, headers=headers, allow_redirects=False
        ) as r:
            return r.status, await r.text(), r.headers

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True
    ) -> tuple[int, str, Any]:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.csrf_token
        async with self.session.post(
            self.api.base_url + path, data=form, allow_redirects=False
        ) as r:
            return r.status, await r.text(), r.headers

    async def sign_in(self, email: str, password: str) -> None:
        status, page, _ = await self.get("/sign-in")
        assert status == 200
        match = _TOKEN.search(page)
        assert match, page
        async with self.session.post(
            self.api.base_url + "/sign-in",
            data={"csrf_token": match[1], "email": email, "password": password},
            allow_redirects=False,
        ) as r:
            assert r.status == 303, await r.text()
        status, home, _ = await self.get("/")
        assert status == 200
        match = _TOKEN.search(home)
        assert match, home
        self.csrf_token = match[1]

    async def close(self) -> None:
        await self.session.close()


async def account_with_user(
    api: Api, name: str, role: str = "admin", timezone: str = "UTC", **settings: Any
) -> tuple[Account, str, Visitor]:
    """A new account (its API key) and a signed-in user of it with ``role``; ``settings``
    are the operator's (``http_enabled`` …)."""
    form = accounts.NewAccount(name=name, timezone=timezone)
    created = await accounts.create(api.runtime, form)
    account = created.account
    if settings:
        patch = accounts.OperatorPatch(**settings)
        account = await accounts.operator_update(api.runtime, account.id, patch)
    visitor = await user_of(api, account, role)
    return account, created.api_key, visitor


async def user_of(api: Api, account: Account, role: str = "admin") -> Visitor:
    """A signed-in user of ``account`` with ``role``."""
    email = f"{role}-{secrets.token_hex(3)}@{account.name}.test"
    form = users.NewUser.model_validate({"email": email, "role": role})
    made = await users.create(api.runtime, account, form, one_time=False)  # no forced change
    visitor = Visitor(api)
    await visitor.sign_in(email, made.password)
    return visitor


SignIn = Callable[..., Awaitable[tuple[Account, str, Visitor]]]


@pytest.fixture
async def signed_in(api: Api) -> AsyncIterator[SignIn]:
    """``await signed_in("acme", role="viewer")``: (account, API key, signed-in visitor);
    ``await signed_in(account=acct, role=...)`` adds a user to an existing account."""
    made: list[Visitor] = []

    async def make(
        name: str = "acme",
        role: str = "admin",
        account: Account | None = None,
        timezone: str = "UTC",
        **settings: Any,
    ) -> tuple[Account, str, Visitor]:
        if account is not None:
            visitor = await user_of(api, account, role)
            made.append(visitor)
            return account, "", visitor
        found = await account_with_user(api, name, role, timezone, **settings)
        made.append(found[2])
        return found

    yield make
    for visitor in made:
        await visitor.close()
