"""Short URLs over HTTP, over :mod:`flowhook.usecases.short_urls`: the original's shortener
endpoint (``POST /UrlShortner/phonon/shortUrl``, authenticated by the account's
``custToken``), the API (``/v1/short-urls``) and the redirect (``GET /{code}``).

The redirect router is mounted last, after every other route, because ``/{code}`` would
otherwise shadow one-segment paths such as ``/healthz``. A link refused is a page for
browsers (people clicking links) and the error envelope for everyone else.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.errors import error_response, status_of
from flowhook.api.openapi import error_responses
from flowhook.domain.account import Account
from flowhook.errors import Code, Gone, NotFound
from flowhook.runtime import Runtime
from flowhook.usecases import short_urls
from flowhook.usecases.pages import page_of, parse_cursor
from flowhook.usecases.short_urls import NewShortUrl, PhononShortUrl, ShortUrlRecord

router = APIRouter()
redirects = APIRouter()


def short_url_view(rt: Runtime, record: ShortUrlRecord, account: Account) -> dict[str, Any]:
    return {
        "code": record.code,
        "short_url": short_urls.link(rt, account, record.code),
        "long_url": record.long_url,
        "clicks": record.clicks,
        "last_click_at": record.last_click_at,
        "expires_at": record.expires_at,
        "created_at": record.created_at,
    }


@router.post("/UrlShortner/phonon/shortUrl", responses=error_responses(401))
async def phonon_short_url(body: PhononShortUrl, rt: RuntimeDep) -> dict[str, str]:
    return {"shortUrl": await short_urls.shorten_for_token(rt, body)}


@router.post("/v1/short-urls", status_code=201)
async def create_short_url(
    body: NewShortUrl, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    return short_url_view(rt, await short_urls.create(rt, account, body), account)


@router.get("/v1/short-urls", responses=error_responses(400))
async def list_short_urls(
    account: AccountDep,
    rt: RuntimeDep,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict[str, Any]:
    rows = await short_urls.list_page(rt, account, limit=limit, after=parse_cursor(cursor))
    page, next_cursor = page_of(rows, limit, lambda r: (r.created_at, r.code))
    return {
        "short_urls": [short_url_view(rt, r, account) for r in page],
        "next_cursor": next_cursor,
    }


@router.get("/v1/short-urls/{code}")
async def get_short_url(code: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return short_url_view(rt, await short_urls.get(rt, account, code), account)


PAGE_TITLES = {Code.SHORT_URL_NOT_FOUND: "Link not found", Code.SHORT_URL_EXPIRED: "Link expired"}


def _refusal(request: Request, exc: NotFound | Gone) -> Response:
    if "text/html" not in request.headers.get("accept", ""):
        return error_response(status_of(exc), exc.code, exc.message)
    title = PAGE_TITLES.get(exc.code, "Link not found")
    body = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(exc.message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status_of(exc))


@redirects.get("/{code}", include_in_schema=False)
async def follow(code: str, request: Request, rt: RuntimeDep) -> Response:
    """Count the click and redirect (302) to the long URL; 404/410 otherwise."""
    host = (request.headers.get("host") or "").rsplit(":", 1)[0].strip().lower()
    try:
        target = await short_urls.follow(rt, code, host or None)
    except (NotFound, Gone) as exc:
        return _refusal(request, exc)
    return RedirectResponse(target, status_code=302)
