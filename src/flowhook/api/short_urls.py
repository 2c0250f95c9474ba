"""Short URLs: the original's shortener endpoint (``POST /UrlShortner/phonon/shortUrl``,
authenticated by the account's ``custToken``), the API (``/v1/short-urls``) and the
redirect (``GET /{code}``).

The redirect router is mounted last, after every other route, because ``/{code}`` would
otherwise shadow one-segment paths such as ``/healthz``. When a request's ``Host`` is an
account's short domain, only that account's codes resolve there.
"""

from __future__ import annotations

import html
import time
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.errors import error_response
from flowhook.api.openapi import error_responses
from flowhook.api.pagination import page_of, parse_cursor
from flowhook.domain.account import Account
from flowhook.errors import NotFound, Unauthorized
from flowhook.internal import shortener
from flowhook.store import accounts as account_repo
from flowhook.store import short_urls as short_repo
from flowhook.store.db import is_storable_id
from flowhook.store.short_urls import ShortUrlRecord

router = APIRouter()
redirects = APIRouter()


class PhononShortUrl(BaseModel):
    """The original's body; other fields are ignored as the original does."""

    model_config = ConfigDict(extra="ignore")

    custToken: str = Field(max_length=128)  # the original's field names
    longUrl: Any = None


class NewShortUrl(BaseModel):
    model_config = ConfigDict(extra="forbid")

    long_url: str = Field(max_length=shortener.MAX_LONG_URL)
    expires_at: AwareDatetime | None = None


def short_url_view(record: ShortUrlRecord, account: Account, base_url: str) -> dict[str, Any]:
    return {
        "code": record.code,
        "short_url": shortener.short_url(record.code, account, base_url),
        "long_url": record.long_url,
        "clicks": record.clicks,
        "last_click_at": record.last_click_at,
        "expires_at": record.expires_at,
        "created_at": record.created_at,
    }


@router.post("/UrlShortner/phonon/shortUrl", responses=error_responses(401))
async def phonon_short_url(body: PhononShortUrl, rt: RuntimeDep) -> dict[str, str]:
    token = body.custToken
    account = (
        await rt.store.read(lambda c: account_repo.by_short_token(c, token))
        if is_storable_id(token, 64)
        else None
    )
    if account is None:
        raise Unauthorized("unknown custToken (see your account settings)", code="INVALID_TOKEN")
    record = await shortener.shorten(
        rt.store,
        account,
        body.longUrl,
        now=time.time(),
        code_length=rt.settings.short_code_length,
    )
    return {"shortUrl": shortener.short_url(record.code, account, rt.settings.base_url)}


@router.post("/v1/short-urls", status_code=201)
async def create_short_url(
    body: NewShortUrl, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    record = await shortener.shorten(
        rt.store,
        account,
        body.long_url,
        now=time.time(),
        code_length=rt.settings.short_code_length,
        expires_at=body.expires_at.timestamp() if body.expires_at else None,
    )
    return short_url_view(record, account, rt.settings.base_url)


@router.get("/v1/short-urls", responses=error_responses(400))
async def list_short_urls(
    account: AccountDep,
    rt: RuntimeDep,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict[str, Any]:
    after = parse_cursor(cursor)
    rows = await rt.store.read(lambda c: short_repo.list_for(c, account.id, limit + 1, after))
    page, next_cursor = page_of(rows, limit, lambda r: (r.created_at, r.code))
    return {
        "short_urls": [short_url_view(r, account, rt.settings.base_url) for r in page],
        "next_cursor": next_cursor,
    }


@router.get("/v1/short-urls/{code}")
async def get_short_url(code: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    record = await rt.store.read(lambda c: short_repo.get(c, code, account.id))
    if record is None:
        raise NotFound(f"no short URL {code}", code="SHORT_URL_NOT_FOUND")
    return short_url_view(record, account, rt.settings.base_url)


def _refusal(request: Request, status: int, title: str, text: str, code: str) -> Response:
    """A page for browsers (people clicking links), the error envelope for everyone else."""
    if "text/html" not in request.headers.get("accept", ""):
        return error_response(status, code, text)
    body = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status)


def _not_found(request: Request) -> Response:
    return _refusal(
        request, 404, "Link not found", "This short link does not exist.", "SHORT_URL_NOT_FOUND"
    )


@redirects.get("/{code}", include_in_schema=False)
async def follow(code: str, request: Request, rt: RuntimeDep) -> Response:
    """Count the click and redirect (302) to the long URL; 404/410 otherwise."""
    if not code.isascii() or not code.isalnum() or len(code) > 16:
        return _not_found(request)
    host = (request.headers.get("host") or "").rsplit(":", 1)[0].strip().lower()
    owner = (
        await rt.store.read(lambda c: account_repo.by_short_domain(c, host))
        if host and is_storable_id(host, 255)
        else None
    )
    account_id = owner.id if owner else None
    now = time.time()
    target = await rt.store.write(lambda c: short_repo.click(c, code, now, account_id))
    if target is not None:
        return RedirectResponse(target, status_code=302)
    known = await rt.store.read(lambda c: short_repo.get(c, code, account_id))
    if known is not None:
        return _refusal(
            request, 410, "Link expired", "This short link has expired.", "SHORT_URL_EXPIRED"
        )
    return _not_found(request)
