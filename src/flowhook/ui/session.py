"""Who is signed in, and the checks every console request passes: the session cookie,
the account's IP whitelist, the CSRF token, and the role.

The rules themselves are the use cases' (:mod:`flowhook.usecases.users`); this module
reads them off the request. Two dependencies cover every page:

- ``VisitorDep``: any signed-in user. A request that changes something (any method but
  GET/HEAD/OPTIONS) must also carry the session's CSRF token — the ``csrf_token`` form
  field or the ``X-CSRF-Token`` header (htmx sends it: ``hx-headers`` on ``<body>``) —
  and come from an admin: viewers change nothing, checked here once for every page.
- ``AdminDep``: an admin, for pages that show secrets (a GET a viewer may not see).

No session sends the browser to the sign-in page, and a one-time password to the
change-password page (see ``ui/app.py``'s route class).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from flowhook import forwarded
from flowhook.errors import Code, Forbidden
from flowhook.runtime import Runtime
from flowhook.usecases import users
from flowhook.usecases.users import Visitor

SESSION_COOKIE = "fh_session"
SIGN_IN_COOKIE = "fh_sign_in"
"""A sign-in form's CSRF token (double submit): there is no session to keep it in yet."""
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def runtime_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def base_url_of(request: Request) -> str:
    """Where the browser reached the server, for commands a page shows to paste (the
    settings' host:port may be 0.0.0.0 or a proxy's)."""
    return (runtime_of(request).settings.public_url or str(request.base_url)).rstrip("/")


def client_address(request: Request) -> str | None:
    """The caller's address, as the API judges it (the trusted-proxy rule)."""
    peer = request.client.host if request.client else None
    return forwarded.client_address(
        peer,
        request.headers.getlist("x-forwarded-for"),
        runtime_of(request).settings.trusted_proxies,
    )


async def given_csrf(request: Request) -> str | None:
    """The CSRF token a request carries: the header (htmx), else the form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)  # Starlette keeps the parsed form
        return value if isinstance(value, str) else None
    return None


async def signed_in_as_is(request: Request) -> Visitor:
    """The signed-in visitor, whatever its role and even with a one-time password (the
    change-password page); a change must carry the CSRF token."""
    rt = runtime_of(request)
    visitor = await users.visitor(rt, request.cookies.get(SESSION_COOKIE), client_address(request))
    request.state.visitor = visitor  # the templates' ``visitor``, error pages' too
    if request.method not in SAFE_METHODS and not users.csrf_matches(
        visitor, await given_csrf(request)
    ):
        raise Forbidden(
            "this form is out of date or was not sent by the console: reload the page "
            "and try again",
            code=Code.CSRF_FAILED,
        )
    return visitor


async def signed_in(request: Request) -> Visitor:
    """The signed-in visitor, who has chosen their own password (else PASSWORD_CHANGE_REQUIRED:
    the change-password page); for a change, also its CSRF token and the admin role."""
    visitor = await signed_in_as_is(request)
    users.require_own_password(visitor)
    if request.method not in SAFE_METHODS:
        users.require_admin(visitor)
    return visitor


async def admin(visitor: Annotated[Visitor, Depends(signed_in)]) -> Visitor:
    users.require_admin(visitor)
    return visitor


VisitorDep = Annotated[Visitor, Depends(signed_in)]
AdminDep = Annotated[Visitor, Depends(admin)]


def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS (directly, or as ``public_url`` says when
    a proxy terminates TLS): the cookies are ``Secure`` then."""
    return request.url.scheme == "https" or runtime_of(request).settings.public_url.startswith(
        "https://"
    )


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None
) -> None:
    """HttpOnly, SameSite=Lax, Secure over HTTPS, for the whole site."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=is_https(request))
