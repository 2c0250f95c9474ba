"""The shortener's codes: unguessable, from 62 symbols, unique — in memory over 100,000
draws and in the database, where the primary key settles any collision."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from flowhook.domain.account import Account
from flowhook.errors import ValidationFailed
from flowhook.internal.shortener import ALPHABET, check_long_url, new_code, short_url
from flowhook.store import short_urls as short_repo
from flowhook.store.db import Store
from flowhook.store.tables import short_urls


@pytest.mark.slow
def test_100000_codes_are_unique_8_symbols_from_62() -> None:
    codes = [new_code() for _ in range(100_000)]
    assert len(set(codes)) == len(codes)
    assert {len(c) for c in codes} == {8}
    assert set("".join(codes)) == set(ALPHABET)  # every symbol is used: no bias to a subset


@pytest.mark.slow
async def test_thousands_of_short_urls_get_distinct_codes_in_the_database(store: Store) -> None:
    now = time.time()
    for _ in range(3):
        await store.write(
            lambda c: [
                short_repo.create(c, "acct", "https://example.com", new_code, now)
                for _ in range(1000)
            ]
        )
    count, distinct = store.read_sync(
        lambda c: c.execute(
            select(func.count(), func.count(func.distinct(short_urls.c.code)))
        ).one()
    )
    assert count == distinct == 3000


async def test_a_code_already_taken_is_drawn_again(store: Store) -> None:
    draws: Iterator[str] = itertools.chain(["AAAAAAAA", "AAAAAAAA", "BBBBBBBB"])
    now = time.time()
    first = await store.write(
        lambda c: short_repo.create(c, "acct", "https://a.example", lambda: next(draws), now)
    )
    second = await store.write(
        lambda c: short_repo.create(c, "acct", "https://b.example", lambda: next(draws), now)
    )
    assert (first.code, second.code) == ("AAAAAAAA", "BBBBBBBB")


@pytest.mark.parametrize(
    "url", ["https://example.com", "http://example.com/a?b=c#d", "HTTPS://Example.com:8443/x"]
)
def test_http_and_https_urls_can_be_shortened(url: str) -> None:
    assert check_long_url(f"  {url} ") == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.com/file",
        "data:text/html,hi",
        "http://",
        "//example.com",
        "example.com",
        "https://exa mple.com",
        "https://example.com/\nSet-Cookie: x",
        "https://[::1",
        "",
        None,
        42,
        "https://example.com/" + "a" * 5000,
    ],
)
def test_other_urls_are_refused(url: object) -> None:
    with pytest.raises(ValidationFailed):
        check_long_url(url)


def test_a_short_url_uses_the_accounts_domain_when_it_has_one() -> None:
    plain = Account(id="a", name="a")
    branded = Account(id="b", name="b", short_domain="go.example.com")
    assert short_url("Ab3dE6gH", plain, "https://links.example.org/") == (
        "https://links.example.org/Ab3dE6gH"
    )
    assert short_url("Ab3dE6gH", branded, "https://links.example.org") == (
        "https://go.example.com/Ab3dE6gH"
    )
