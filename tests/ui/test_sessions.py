"""The console's sign-in rules over plain HTTP (no browser needed): cookies, CSRF on the
sign-in form and on sign-out, rate limiting of failed sign-ins, the IP whitelist."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from flowhook.domain.account import Account
from flowhook.usecases import accounts, users
from support.app import Api


class Browser:
    """A cookie-keeping HTTP client that reads forms' CSRF tokens like a browser would."""

    def __init__(self, api: Api, headers: dict[str, str] | None = None) -> None:
        self.api = api
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers or {}
        )

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.api.base_url + path, allow_redirects=False) as r:
            return r.status, await r.text()

    async def post(self, path: str, data: dict[str, str]) -> aiohttp.ClientResponse:
        async with self.session.post(
            self.api.base_url + path, data=data, allow_redirects=False
        ) as r:
            await r.read()
            return r

    async def csrf(self, path: str) -> str:
        status, text = await self.get(path)
        assert status == 200, text
        match = re.search(r'name="csrf_token" value="([^"]+)"', text)
        assert match, text
        return match[1]

    async def sign_in(self, email: str, password: str) -> aiohttp.ClientResponse:
        token = await self.csrf("/sign-in")
        return await self.post(
            "/sign-in", {"csrf_token": token, "email": email, "password": password}
        )


@pytest.fixture
async def browser(api: Api) -> AsyncIterator[Callable[..., Browser]]:
    made: list[Browser] = []

    def make(**headers: str) -> Browser:
        made.append(Browser(api, headers))
        return made[-1]

    yield make
    for b in made:
        await b.session.close()


async def user(api: Api, role: str = "admin", **settings: Any) -> tuple[Account, str, str]:
    created = await accounts.create(api.runtime, accounts.NewAccount(name="acme"))
    account = created.account
    if settings:
        account = await accounts.operator_update(
            api.runtime, account.id, accounts.OperatorPatch(**settings)
        )
    email = f"{role}@acme.test"
    made = await users.create(
        api.runtime, account, users.NewUser.model_validate({"email": email, "role": role})
    )
    return account, email, made.password


async def test_a_session_cookie_is_http_only_and_same_site_lax(
    api: Api, browser: Callable[..., Browser]
) -> None:
    _, email, password = await user(api)
    b = browser()
    response = await b.sign_in(email, password)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = next(c for c in response.headers.getall("Set-Cookie") if "fh_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the next test
    status, home = await b.get("/")
    assert status == 200 and email in home


async def test_the_session_cookie_is_secure_when_the_console_is_served_over_https(
    api_with: Any,
) -> None:
    async with api_with(public_url="https://console.example.test") as api:
        _, email, password = await user(api)
        async with aiohttp.ClientSession() as http:
            async with http.get(api.base_url + "/sign-in") as r:
                form = await r.text()
                form_cookie = r.headers["Set-Cookie"]
            assert "Secure" in form_cookie and "HttpOnly" in form_cookie
            match = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert match
            # a browser sends a Secure cookie over HTTPS only; here it is sent by hand
            async with http.post(
                api.base_url + "/sign-in",
                data={"csrf_token": match[1], "email": email, "password": password},
                headers={"Cookie": f"fh_sign_in={match[1]}"},
                allow_redirects=False,
            ) as r:
                assert r.status == 303
                cookie = next(c for c in r.headers.getall("Set-Cookie") if "fh_session=" in c)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


async def test_a_wrong_password_is_refused_with_the_form_again(
    api: Api, browser: Callable[..., Browser]
) -> None:
    _, email, password = await user(api)
    b = browser()
    response = await b.sign_in(email, password + "x")
    assert response.status == 401
    status, _ = await b.get("/")
    assert status == 303  # still signed out: back to the sign-in page


async def test_a_sign_in_without_its_form_token_is_refused(
    api: Api, browser: Callable[..., Browser]
) -> None:
    _, email, password = await user(api)
    b = browser()
    await b.csrf("/sign-in")  # the cookie is set, but the form's token is not sent back
    response = await b.post("/sign-in", {"email": email, "password": password})
    assert response.status == 403
    other = browser()  # a token of another visitor's form does not fit this cookie
    token = await other.csrf("/sign-in")
    response = await b.post("/sign-in", {"csrf_token": token, "email": email, "password": password})
    assert response.status == 403
    assert (await b.get("/"))[0] == 303


async def test_sign_out_needs_the_session_token_and_ends_the_session(
    api: Api, browser: Callable[..., Browser]
) -> None:
    _, email, password = await user(api)
    b = browser()
    await b.sign_in(email, password)
    forged = await b.post("/sign-out", {"csrf_token": "forged"})
    assert forged.status == 403
    assert (await b.get("/"))[0] == 200  # still signed in
    token = await b.csrf("/")
    response = await b.post("/sign-out", {"csrf_token": token})
    assert response.status == 303 and response.headers["Location"] == "/sign-in"
    assert (await b.get("/"))[0] == 303


async def test_failed_sign_ins_are_rate_limited_per_address_and_e_mail(
    api_with: Any,
) -> None:
    async with api_with(sign_in_max_failures=3) as api:
        _, email, password = await user(api)
        b = Browser(api)
        try:
            for _ in range(3):
                assert (await b.sign_in(email, "wrong password")).status == 401
            # now even the right password is refused, with a clear message
            response = await b.sign_in(email, password)
            assert response.status == 429
            token = await b.csrf("/sign-in")
            async with b.session.post(
                api.base_url + "/sign-in",
                data={"csrf_token": token, "email": email, "password": password},
            ) as r:
                text = await r.text()
            assert r.status == 429 and "too many failed sign-ins" in text
            # another e-mail from the same address is not locked out by these failures
            other_account = await accounts.create(api.runtime, accounts.NewAccount(name="b"))
            other = await users.create(
                api.runtime,
                other_account.account,
                users.NewUser.model_validate({"email": "other@b.test"}),
            )
            assert (await b.sign_in("other@b.test", other.password)).status == 303
        finally:
            await b.session.close()


async def test_the_ip_whitelist_applies_to_the_console(
    api_with: Any,
) -> None:
    # the browser reaches us from 127.0.0.1; a proxy we trust says who it forwards for
    async with api_with(trusted_proxies=["127.0.0.1"]) as api:
        _, email, password = await user(api, ip_whitelist=["203.0.113.0/24"])
        outside = Browser(api, {"X-Forwarded-For": "198.51.100.7"})
        inside = Browser(api, {"X-Forwarded-For": "203.0.113.9"})
        try:
            refused = await outside.sign_in(email, password)
            assert refused.status == 403
            assert (await inside.sign_in(email, password)).status == 303
            assert (await inside.get("/"))[0] == 200
            # the session is judged on every page: taken elsewhere, it is refused
            inside.session.headers["X-Forwarded-For"] = "198.51.100.7"
            status, text = await inside.get("/")
            assert status == 403 and "IP whitelist" in text
        finally:
            await outside.session.close()
            await inside.session.close()


async def test_console_pages_carry_security_headers(
    api: Api, browser: Callable[..., Browser]
) -> None:
    b = browser()
    async with b.session.get(api.base_url + "/sign-in") as r:
        assert r.status == 200
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"
    # the API is untouched: still JSON, and its own 401
    async with b.session.get(api.base_url + "/v1/flows") as r:
        assert r.status == 401 and r.content_type == "application/json"
