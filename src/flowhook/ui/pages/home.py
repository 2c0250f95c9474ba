"""The home page (``/``): how the account is doing, and where to start."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from flowhook.ui.app import page_router
from flowhook.ui.render import render
from flowhook.ui.session import VisitorDep

router = page_router()


@router.get("/")
async def home(request: Request, visitor: VisitorDep) -> Response:
    return render(request, "home.html", title="Home")
