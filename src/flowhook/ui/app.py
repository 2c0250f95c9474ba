"""The console mounted on the API's application: static files, every page module's
router, and the route class that turns errors into pages.

``create_app`` calls :func:`install` after the API's routers (the API keeps its paths)
and before the short-link redirect ``GET /{code}`` (which would take one-segment paths
such as ``/webhooks``). Page modules are found in ``ui/pages/``: each one's ``router``
(made with :func:`page_router`) is included, in module-name order.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from flowhook.errors import Code, FlowhookError, ValidationFailed
from flowhook.statuses import status_of
from flowhook.ui import pages
from flowhook.ui.render import is_htmx, render

STATIC = Path(__file__).parent / "static"
log = structlog.get_logger(__name__)

SECURITY_HEADERS = {
    # scripts only from the console itself (htmx is vendored: no CDN, no inline script)
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages hold account data: not for shared caches
}


def sign_in_redirect(request: Request) -> Response:
    """To the sign-in page, coming back here afterwards (htmx: a full-page redirect)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/sign-in" if here == "/" else f"/sign-in?next={quote(here, safe='')}"
    return redirect(request, target)


def redirect(request: Request, target: str) -> Response:
    """A full-page redirect (an htmx request gets ``HX-Redirect``)."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_page(request: Request, exc: FlowhookError, status: int | None = None) -> Response:
    """An error as a page (or, for htmx, a fragment that names it), with the status the API
    would answer with unless ``status`` says otherwise."""
    status = status_of(exc) if status is None else status
    template = "fragments/error.html" if is_htmx(request) else "error.html"
    title = {
        401: "Sign in needed",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        429: "Too many tries",
    }.get(status, "Something is wrong")
    return render(request, template, status_code=status, error=exc, title=title)


class ConsoleRoute(APIRoute):
    """A console page: no session → the sign-in page; a :class:`FlowhookError` → an error
    page with its status; invalid path or query values → 422 page; and the security
    headers on every answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except FlowhookError as exc:
                if exc.code == Code.SESSION_REQUIRED:
                    response = sign_in_redirect(request)
                elif exc.code == Code.PASSWORD_CHANGE_REQUIRED:
                    response = redirect(request, "/password")
                else:
                    response = error_page(request, exc)
            except RequestValidationError as exc:
                details = [
                    {"path": ".".join(map(str, e.get("loc", ()))), "message": e.get("msg", "")}
                    for e in exc.errors()
                ]
                error = ValidationFailed("the request is not valid", details=details)
                response = error_page(request, error)
            except Exception:  # a bug: logged, and a page that says so (never a traceback)
                log.exception("console page failed", path=request.url.path)
                failure = FlowhookError("an unexpected error occurred", code=Code.INTERNAL_ERROR)
                response = error_page(request, failure, 500)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return run


def page_router(**kwargs: Any) -> APIRouter:
    """The router of one page module: console routes, left out of the OpenAPI document."""
    return APIRouter(route_class=ConsoleRoute, include_in_schema=False, **kwargs)


def page_modules() -> list[str]:
    return sorted(
        f"{pages.__name__}.{info.name}"
        for info in pkgutil.iter_modules(pages.__path__)
        if not info.name.startswith("_")
    )


def install(app: FastAPI) -> None:
    """Serve the console on ``app`` (call before the catch-all short-link redirect)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for name in page_modules():
        module = importlib.import_module(name)
        app.include_router(module.router)
