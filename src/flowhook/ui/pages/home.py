"""The home page (``/``): the account's last 24 hours (executions, deliveries, their
failures and latencies), the webhooks failing now, and where to start for a new account."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from flowhook.ui.app import page_router
from flowhook.ui.render import render
from flowhook.ui.session import VisitorDep, base_url_of, runtime_of
from flowhook.usecases import overview

router = page_router()


@router.get("/")
async def home(request: Request, visitor: VisitorDep) -> Response:
    rt = runtime_of(request)
    summary = await overview.last_day(rt, visitor.account)
    return render(
        request,
        "home.html",
        title="Home",
        o=summary,
        base_url=base_url_of(request),
        # where the change-password form lands: say that it worked
        notice=(
            "Your password is changed."
            if request.query_params.get("password") == "changed"
            else None
        ),
    )
