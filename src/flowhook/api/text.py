"""The text rule (:mod:`flowhook.text`) applied to every request, once, ahead of the routers:
the path, the query string and JSON bodies (free-form values such as trigger variables and
flow documents included). A NUL is refused with 422 ``NUL_NOT_ALLOWED``, a lone surrogate
with 422 ``INVALID_TEXT``, the same on SQLite and PostgreSQL, and no router, schema or
repository has to remember it. :class:`TextGuard` is plain ASGI middleware; the trigger
(served ahead of the middleware) calls :func:`check_target` and :func:`check_body` itself.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from flowhook import codec, text
from flowhook.api.limits import read_body, refuse, replaying
from flowhook.errors import FlowhookError


def check_target(scope: Scope) -> None:
    """Refuse a NUL in the path (``%00`` is decoded there) or the query string."""
    path: str = scope.get("path", "")
    if "\x00" in path or not path.isascii():  # else no NUL, no surrogate: skip the search
        text.check(path, "path")
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        raise text.refusal("query", "contains a NUL character (%00)")


def check_body(raw: bytes) -> None:
    """Refuse a JSON body with a key or string that cannot be stored. Bodies that are not
    JSON pass: the route answers them (400 ``MALFORMED_JSON``, a YAML flow's own check)."""
    if not text.may_hold_bad_text(raw):
        return
    try:
        parsed = codec.loads(raw)
    except (ValueError, RecursionError):
        return
    text.check_value(parsed)


OWN_ENVELOPE = ("/kairos-apis/",)
"""Paths left to their route: the original product's outbound API answers every refusal in
its own envelope (HTTP 200, ``api-response-code``), and keeps odd text, NUL included, as
data (stored as JSON text, tested on both engines: tests/internal/test_outbound_api.py)."""


class TextGuard:
    """Every request's path, query string and body through the text rule. Sits inside
    :class:`flowhook.api.limits.BodyLimit`, so the body it reads is already bounded."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OWN_ENVELOPE):
            await self.app(scope, receive, send)
            return
        try:
            check_target(scope)
            body = await read_body(scope, receive, self.max_bytes)
            if body is None:
                return  # the client went away
            check_body(body)
        except FlowhookError as exc:
            await refuse(send, exc)
            return
        await self.app(scope, replaying(body, receive), send)
