"""The Short links page: the account's short links, newest first, with their clicks
(keyset pages: ``?cursor=`` as the API's)."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from flowhook.ui.app import page_router
from flowhook.ui.render import render
from flowhook.ui.session import VisitorDep, runtime_of
from flowhook.usecases import short_urls
from flowhook.usecases.pages import page_of, parse_cursor

router = page_router()
PAGE = 50


@router.get("/short-links")
async def short_links_page(
    request: Request, visitor: VisitorDep, cursor: str | None = None
) -> Response:
    rt = runtime_of(request)
    rows = await short_urls.list_page(rt, visitor.account, limit=PAGE, after=parse_cursor(cursor))
    page = page_of(rows, PAGE, lambda r: (r.created_at, r.code))
    links = [(r, short_urls.link(rt, visitor.account, r.code)) for r in page.items]
    return render(
        request,
        "short_links.html",
        title="Short links",
        links=links,
        next_cursor=page.next_cursor,
        first_page=cursor is None,
    )
