"""Short URLs: created through the API or the original's shortener endpoint (authenticated
by the account's ``custToken``), listed, read, and followed (a click is counted).

A link lives on the account's own short domain when it has one (which account owns a
domain is ruled in :mod:`flowhook.usecases.accounts`), otherwise on the platform's base
URL; a click that comes in on a short domain resolves only that account's codes. Codes and
the check of long URLs are :mod:`flowhook.internal.shortener`'s, which the ``shortURL``
internal method uses too.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from flowhook.domain.account import Account
from flowhook.errors import Code, Gone, NotFound, Unauthorized
from flowhook.internal import shortener
from flowhook.runtime import Runtime
from flowhook.store import accounts as account_repo
from flowhook.store import short_urls as short_repo
from flowhook.store.db import is_storable_id
from flowhook.store.short_urls import ShortUrlRecord

__all__ = [
    "NewShortUrl",
    "PhononShortUrl",
    "ShortUrlRecord",
    "create",
    "follow",
    "get",
    "link",
    "list_page",
    "shorten_for_token",
]


class PhononShortUrl(BaseModel):
    """The original's body; other fields are ignored as the original does."""

    model_config = ConfigDict(extra="ignore")

    custToken: str = Field(max_length=128)  # the original's field names
    longUrl: Any = None


class NewShortUrl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    long_url: str = Field(max_length=shortener.MAX_LONG_URL)
    expires_at: AwareDatetime | None = None


def link(rt: Runtime, account: Account, code: str) -> str:
    """The link to hand out for a code of the account."""
    return shortener.short_url(code, account, rt.settings.base_url)


async def create(rt: Runtime, account: Account, form: NewShortUrl) -> ShortUrlRecord:
    return await shortener.shorten(
        rt.store,
        account,
        form.long_url,
        now=rt.now(),
        code_length=rt.settings.short_code_length,
        expires_at=form.expires_at.timestamp() if form.expires_at else None,
    )


async def shorten_for_token(rt: Runtime, form: PhononShortUrl) -> str:
    """The original's shortener: the account is the one whose ``custToken`` the body
    carries; returns the link."""
    token = form.custToken
    account = (
        await rt.store.read(lambda c: account_repo.by_short_token(c, token))
        if is_storable_id(token, 64)
        else None
    )
    if account is None:
        raise Unauthorized("unknown custToken (see your account settings)", code=Code.INVALID_TOKEN)
    record = await shortener.shorten(
        rt.store,
        account,
        form.longUrl,
        now=rt.now(),
        code_length=rt.settings.short_code_length,
    )
    return link(rt, account, record.code)


async def list_page(
    rt: Runtime, account: Account, *, limit: int, after: tuple[float, str] | None = None
) -> list[ShortUrlRecord]:
    """Newest first after the position ``after`` (created_at, code): up to ``limit + 1``
    records, the one more telling that another page follows."""
    return await rt.store.read(lambda c: short_repo.list_for(c, account.id, limit + 1, after))


async def get(rt: Runtime, account: Account, code: str) -> ShortUrlRecord:
    record = await rt.store.read(lambda c: short_repo.get(c, code, account.id))
    if record is None:
        raise NotFound(f"no short URL {code}", code=Code.SHORT_URL_NOT_FOUND)
    return record


async def follow(rt: Runtime, code: str, host: str | None) -> str:
    """Count a click on ``code`` and return its long URL. ``host`` is the host the link
    was followed on: an account's short domain resolves that account's codes only.
    ``SHORT_URL_NOT_FOUND`` (404) or ``SHORT_URL_EXPIRED`` (410) otherwise."""
    if not code.isascii() or not code.isalnum() or len(code) > 16:
        raise _no_link()
    owner = (
        await rt.store.read(lambda c: account_repo.by_short_domain(c, host))
        if host and is_storable_id(host, 255)
        else None
    )
    account_id = owner.id if owner else None
    now = rt.now()
    target = await rt.store.write(lambda c: short_repo.click(c, code, now, account_id))
    if target is not None:
        return target
    known = await rt.store.read(lambda c: short_repo.get(c, code, account_id))
    if known is not None:
        raise Gone("This short link has expired.", code=Code.SHORT_URL_EXPIRED)
    raise _no_link()


def _no_link() -> NotFound:
    return NotFound("This short link does not exist.", code=Code.SHORT_URL_NOT_FOUND)
