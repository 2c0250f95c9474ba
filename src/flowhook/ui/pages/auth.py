"""Signing in and out (``/sign-in``, ``/sign-out``).

The sign-in form has no session to keep a CSRF token in, so it uses a double submit: the
GET sets a random token in an HttpOnly cookie and in the form; the POST must bring both,
equal. Its failures are pages a person can act on: a wrong password (401), too many tries
(429, with when to come back), an address outside the account's IP whitelist (403).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Form, Request
from starlette.responses import RedirectResponse, Response

from flowhook.errors import FlowhookError, Forbidden
from flowhook.ui.app import page_router
from flowhook.ui.render import render
from flowhook.ui.session import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    clear_cookie,
    client_address,
    given_csrf,
    runtime_of,
    set_cookie,
)
from flowhook.usecases import users

router = page_router()


def _next(value: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


def _form(
    request: Request,
    *,
    email: str = "",
    next_path: str = "/",
    error: FlowhookError | None = None,
    status_code: int = 200,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        status_code=status_code,
        title="Sign in",
        csrf_token=token,
        email=email,
        next_path=next_path,
        error=error,
    )
    set_cookie(request, response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    return _form(request, next_path=_next(next))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    email: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    given = await given_csrf(request) or ""
    if not expected or not secrets.compare_digest(expected.encode(), given.encode()):
        error = Forbidden("the sign-in form was out of date: please try again", code="CSRF_FAILED")
        return _form(request, email=email, next_path=_next(next), error=error, status_code=403)
    try:
        signed = await users.sign_in(runtime_of(request), email, password, client_address(request))
    except FlowhookError as exc:
        return _form(request, email=email, next_path=_next(next), error=exc, status_code=exc.status)
    response = RedirectResponse(_next(next), status_code=303)
    max_age = int(signed.expires_at - runtime_of(request).now())
    set_cookie(request, response, SESSION_COOKIE, signed.token, max_age=max_age)
    clear_cookie(request, response, SIGN_IN_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """End the session. Any role may sign out, so this is not a ``VisitorDep`` change;
    it still needs the session's CSRF token (no page elsewhere can sign a user out)."""
    rt = runtime_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    try:
        visitor = await users.visitor(rt, token, client_address(request))
    except FlowhookError:
        visitor = None  # already ended (or expired): nothing to end, just leave
    if visitor is not None:
        if not users.csrf_matches(visitor, await given_csrf(request)):
            request.state.visitor = visitor
            error = Forbidden("this form is out of date: reload the page", code="CSRF_FAILED")
            return render(request, "error.html", status_code=403, error=error, title="Not allowed")
        await users.sign_out(rt, token)
    response = RedirectResponse("/sign-in", status_code=303)
    clear_cookie(request, response, SESSION_COOKIE)
    return response
