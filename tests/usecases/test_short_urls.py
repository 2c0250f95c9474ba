"""The short-URL use cases called directly: create, read, page through, follow (a click
counted; 404 unknown, 410 expired), the original's token endpoint and short domains."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from flowhook.api.errors import status_of
from flowhook.domain.account import Account
from flowhook.errors import Gone, NotFound, Unauthorized, ValidationFailed
from flowhook.runtime import Runtime
from flowhook.store import short_urls as short_repo
from flowhook.usecases import accounts, short_urls
from flowhook.usecases.short_urls import NewShortUrl, PhononShortUrl


async def test_a_short_url_is_created_followed_and_counted(rt: Runtime, account: Account) -> None:
    record = await short_urls.create(rt, account, NewShortUrl(long_url="https://example.com/a"))
    assert short_urls.link(rt, account, record.code) == f"{rt.settings.base_url}/{record.code}"
    for _ in range(2):
        assert await short_urls.follow(rt, record.code, None) == "https://example.com/a"
    seen = await short_urls.get(rt, account, record.code)
    assert seen.clicks == 2 and seen.last_click_at is not None


async def test_unknown_and_expired_links_are_refused(rt: Runtime, account: Account) -> None:
    for code in ("ZZZZZZZZ", "no-such.thing", "x" * 40):
        with pytest.raises(NotFound) as unknown:
            await short_urls.follow(rt, code, None)
        assert unknown.value.code == "SHORT_URL_NOT_FOUND"
    now = time.time()
    expired = await rt.store.write(
        lambda c: short_repo.create(c, account.id, "https://e.com", lambda: "Old1", now - 9, now)
    )
    with pytest.raises(Gone) as gone:
        await short_urls.follow(rt, expired.code, None)
    assert (gone.value.code, status_of(gone.value)) == ("SHORT_URL_EXPIRED", 410)
    assert (await short_urls.get(rt, account, expired.code)).clicks == 0


async def test_an_expiry_must_be_in_the_future(rt: Runtime, account: Account) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    with pytest.raises(ValidationFailed) as refused:
        await short_urls.create(rt, account, NewShortUrl(long_url="https://e.com", expires_at=past))
    assert refused.value.code == "INVALID_EXPIRY"


async def test_pages_are_newest_first_with_one_more_to_tell_a_next_page(
    rt: Runtime, account: Account
) -> None:
    made = [
        await short_urls.create(rt, account, NewShortUrl(long_url=f"https://e.com/{i}"))
        for i in range(3)
    ]
    page = await short_urls.list_page(rt, account, limit=2)
    assert len(page) == 3  # the one more says a next page follows
    rest = await short_urls.list_page(
        rt, account, limit=2, after=(page[1].created_at, page[1].code)
    )
    assert {r.code for r in page[:2]} | {r.code for r in rest} == {r.code for r in made}
    assert len(rest) == 1


async def test_the_original_endpoint_takes_the_accounts_token(
    rt: Runtime, account: Account
) -> None:
    form = PhononShortUrl(custToken=account.short_token, longUrl="https://google.co.in")
    link = await short_urls.shorten_for_token(rt, form)
    code = link.rsplit("/", 1)[1]
    assert link == short_urls.link(rt, account, code)
    assert await short_urls.follow(rt, code, None) == "https://google.co.in"
    for token in ("abcd1234", "x" * 100, "\x00"):
        with pytest.raises(Unauthorized) as refused:
            await short_urls.shorten_for_token(rt, PhononShortUrl(custToken=token, longUrl="x"))
        assert refused.value.code == "INVALID_TOKEN"


async def test_a_short_domain_resolves_only_its_accounts_codes(
    rt: Runtime, account: Account
) -> None:
    branded = await accounts.update_settings(
        rt, account, accounts.AccountSettings(short_domain="go.example.com"), address=None
    )
    other = (await accounts.create(rt, accounts.NewAccount(name="other"))).account
    mine = await short_urls.create(rt, branded, NewShortUrl(long_url="https://e.com/mine"))
    theirs = await short_urls.create(rt, other, NewShortUrl(long_url="https://e.com/theirs"))
    assert short_urls.link(rt, branded, mine.code).endswith(f"://go.example.com/{mine.code}")
    assert await short_urls.follow(rt, mine.code, "go.example.com") == "https://e.com/mine"
    with pytest.raises(NotFound):
        await short_urls.follow(rt, theirs.code, "go.example.com")
    assert await short_urls.follow(rt, theirs.code, "127.0.0.1") == "https://e.com/theirs"
