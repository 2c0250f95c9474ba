"""Short URLs through the API: create, redirect (302) and count clicks, 404/410 pages,
the original's ``/UrlShortner/phonon/shortUrl`` endpoint and custom short domains."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from flowhook.internal.shortener import new_code
from flowhook.store import short_urls as short_repo


async def follow(api: Any, code: str, host: str | None = None) -> tuple[int, str | None, str]:
    """Click a link as a browser does."""
    headers = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    if host:
        headers["Host"] = host
    async with api.session.get(
        f"{api.base_url}/{code}", allow_redirects=False, headers=headers
    ) as resp:
        return resp.status, resp.headers.get("Location"), await resp.text()


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_short_url_redirects_and_counts_clicks(api: Any) -> None:
    _, key = await api.account()
    status, created = await api.request(
        "POST", "/v1/short-urls", key=key, json={"long_url": "https://example.com/offer?id=7"}
    )
    assert status == 201, created
    code = created["code"]
    assert created["short_url"] == f"{api.settings.base_url}/{code}"
    assert created["clicks"] == 0 and created["last_click_at"] is None
    before = time.time()
    for _ in range(3):
        assert await follow(api, code) == (302, "https://example.com/offer?id=7", "")
    _, seen = await api.request("GET", f"/v1/short-urls/{code}", key=key)
    assert seen["clicks"] == 3
    assert seen["last_click_at"] >= before


async def test_unknown_codes_get_a_404_page(api: Any) -> None:
    for code in ("ZZZZZZZZ", "no-such.thing", "x" * 40):
        status, location, page = await follow(api, code)
        assert (status, location) == (404, None)
        assert "not found" in page.lower()
    status, body = await api.request("GET", "/healthz")
    assert (status, body["status"]) == (200, "ok")  # /{code} does not shadow other routes
    status, body = await api.request("GET", "/ZZZZZZZZ")  # not a browser: the error envelope
    assert (status, body["error"]["code"]) == (404, "SHORT_URL_NOT_FOUND")


async def test_an_expired_code_gets_a_410_page_and_no_click(api: Any) -> None:
    account_id, key = await api.account()
    record = await api.runtime.store.write(
        lambda c: short_repo.create(
            c, account_id, "https://example.com", new_code, time.time() - 60, time.time() - 1
        )
    )
    status, _, page = await follow(api, record.code)
    assert status == 410 and "expired" in page.lower()
    _, seen = await api.request("GET", f"/v1/short-urls/{record.code}", key=key)
    assert seen["clicks"] == 0


@pytest.mark.slow
async def test_an_expiry_can_be_set_and_must_be_in_the_future(api: Any) -> None:
    _, key = await api.account()
    later = time.time() + 3600
    status, lasting = await api.request(
        "POST",
        "/v1/short-urls",
        key=key,
        json={"long_url": "https://example.com", "expires_at": later},
    )
    assert status == 201, lasting
    assert abs(lasting["expires_at"] - later) < 0.01
    assert (await follow(api, lasting["code"]))[0] == 302  # not expired yet
    soon = time.time() + 2.0  # room for a slow machine to create it first
    status, created = await api.request(
        "POST",
        "/v1/short-urls",
        key=key,
        json={"long_url": "https://example.com", "expires_at": soon},
    )
    assert status == 201, created
    # waiting for the expiry is the thing tested: a sleep, not an event
    await asyncio.sleep(max(0.0, soon - time.time()) + 0.1)
    assert (await follow(api, created["code"]))[0] == 410
    status, body = await api.request(
        "POST",
        "/v1/short-urls",
        key=key,
        json={"long_url": "https://example.com", "expires_at": "2020-01-01T00:00:00+00:00"},
    )
    assert status == 422 and body["error"]["code"] == "INVALID_EXPIRY"


async def test_only_http_urls_are_shortened(api: Any) -> None:
    _, key = await api.account()
    status, body = await api.request(
        "POST", "/v1/short-urls", key=key, json={"long_url": "javascript:alert(document.cookie)"}
    )
    assert status == 422
    assert body["error"]["code"] == "INVALID_URL"


async def test_short_urls_are_listed_newest_first_in_pages(api: Any) -> None:
    _, key = await api.account()
    _, other = await api.account("other")
    await api.request("POST", "/v1/short-urls", key=other, json={"long_url": "https://o.example"})
    made = []
    for i in range(5):
        _, created = await api.request(
            "POST", "/v1/short-urls", key=key, json={"long_url": f"https://example.com/{i}"}
        )
        made.append(created["code"])
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        _, page = await api.request("GET", f"/v1/short-urls{query}", key=key)
        seen += [s["code"] for s in page["short_urls"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made)  # all of this account's, none of the other's
    status, _ = await api.request("GET", f"/v1/short-urls/{made[0]}", key=other)
    assert status == 404


async def test_the_original_endpoint_takes_the_accounts_token(api: Any) -> None:
    _, key = await api.account()
    _, settings = await api.request("GET", "/v1/account/settings", key=key)
    status, body = await api.request(
        "POST",
        "/UrlShortner/phonon/shortUrl",
        json={"custToken": settings["short_token"], "longUrl": "https://google.co.in"},
    )
    assert status == 200, body
    assert list(body) == ["shortUrl"]
    code = body["shortUrl"].rsplit("/", 1)[1]
    assert (await follow(api, code))[:2] == (302, "https://google.co.in")
    status, body = await api.request(
        "POST",
        "/UrlShortner/phonon/shortUrl",
        json={"custToken": "abcd1234", "longUrl": "https://google.co.in"},
    )
    assert status == 401
    assert body["error"]["code"] == "INVALID_TOKEN"


async def test_a_custom_short_domain_is_used_and_selects_the_account(api: Any) -> None:
    _, key = await api.account("branded")
    _, other = await api.account("plain")
    status, _ = await api.request(
        "PUT", "/v1/account/settings", key=key, json={"short_domain": "Go.Example.com"}
    )
    assert status == 200
    _, mine = await api.request(
        "POST", "/v1/short-urls", key=key, json={"long_url": "https://example.com/mine"}
    )
    _, theirs = await api.request(
        "POST", "/v1/short-urls", key=other, json={"long_url": "https://example.com/theirs"}
    )
    assert mine["short_url"] == f"http://go.example.com/{mine['code']}"
    assert (await follow(api, mine["code"], "go.example.com"))[:2] == (
        302,
        "https://example.com/mine",
    )
    # another account's code does not resolve on this account's domain …
    assert (await follow(api, theirs["code"], "go.example.com:443"))[0] == 404
    # … but every code resolves on the platform's own host
    assert (await follow(api, theirs["code"]))[0] == 302
