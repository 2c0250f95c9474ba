"""The URL shortener behind ``shortURL``, ``/UrlShortner/phonon/shortUrl`` and
``/v1/short-urls``.

Codes are drawn with ``secrets`` from 62 letters and digits: 8 characters give 62⁸ ≈
2.2·10¹⁴ codes, so they cannot be guessed or enumerated, and the table's primary key
keeps them unique. A short URL lives on the account's own short domain when it has one,
otherwise on the platform's base URL.
"""

from __future__ import annotations

import secrets
import string
from urllib.parse import urlsplit

from flowhook.domain.account import Account
from flowhook.errors import Code, ValidationFailed
from flowhook.store import short_urls as short_repo
from flowhook.store.db import Store
from flowhook.store.short_urls import ShortUrlRecord

ALPHABET = string.ascii_letters + string.digits
MAX_LONG_URL = 4096


def new_code(length: int = 8) -> str:
    """An unguessable code (a CSPRNG, not ``random``)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def check_long_url(url: object) -> str:
    """Only absolute http(s) URLs with a host may be shortened (no ``javascript:`` …)."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed("a long URL is required", code=Code.INVALID_PARAMETERS)
    url = url.strip()
    if len(url) > MAX_LONG_URL:
        raise ValidationFailed(
            f"the long URL is longer than {MAX_LONG_URL} characters", code=Code.INVALID_URL
        )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValidationFailed(
            "the long URL contains spaces or control characters", code=Code.INVALID_URL
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise ValidationFailed("the long URL is not a valid URL", code=Code.INVALID_URL) from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValidationFailed(
            "only http:// and https:// URLs with a host can be shortened", code=Code.INVALID_URL
        )
    return url


def short_url(code: str, account: Account, base_url: str) -> str:
    """The link to hand out: on the account's short domain (same scheme as the platform's
    base URL), or on the base URL itself."""
    base = base_url.rstrip("/")
    if account.short_domain:
        scheme = urlsplit(base).scheme or "https"
        return f"{scheme}://{account.short_domain}/{code}"
    return f"{base}/{code}"


async def shorten(
    store: Store,
    account: Account,
    long_url: object,
    *,
    now: float,
    code_length: int = 8,
    expires_at: float | None = None,
) -> ShortUrlRecord:
    url = check_long_url(long_url)
    if expires_at is not None and expires_at <= now:
        raise ValidationFailed("expires_at must be in the future", code=Code.INVALID_EXPIRY)
    return await store.write(
        lambda c: short_repo.create(
            c, account.id, url, lambda: new_code(code_length), now, expires_at
        )
    )
