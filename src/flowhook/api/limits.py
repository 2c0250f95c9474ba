"""Request-size limit: a body over the limit is refused with 413 before the application
reads it (default 256 KB, as the original outbound API). :func:`read_body` is the one reader
of a limited body; :class:`BodyLimit` applies it to every route as plain ASGI middleware,
and the trigger (served ahead of the middleware) calls it itself."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowhook import codec
from flowhook.api.errors import status_of
from flowhook.errors import FlowhookError, PayloadTooLarge


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than {max_bytes} bytes")


async def read_body(scope: Scope, receive: Receive, max_bytes: int) -> bytes | None:
    """The whole body, or :class:`PayloadTooLarge` as soon as it is known to be over
    ``max_bytes`` (announced or not); None when the client went away."""
    length = content_length(scope)
    if length is not None and length > max_bytes:
        raise too_large(max_bytes)
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk: bytes = message.get("body", b"")
        body += chunk
        if len(body) > max_bytes:
            raise too_large(max_bytes)
        if not message.get("more_body", False):
            return body


def content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the application the body a middleware already read, then
    whatever the server sends next (a disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def refuse(send: Send, error: FlowhookError) -> None:
    """Answer ``error`` in the API's envelope, from middleware (ahead of FastAPI's handlers)."""
    data = codec.dumps(error.to_dict())
    await send(
        {
            "type": "http.response.start",
            "status": status_of(error),
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = content_length(scope)
        if length is not None:
            if length > self.max_bytes:
                await refuse(send, too_large(self.max_bytes))
            else:  # the server stops the body at its announced length
                await self.app(scope, receive, send)
            return
        # No length (chunked): read the body first. Refusing from inside the application's
        # read would not work: FastAPI turns any error while reading the body into a 400.
        try:
            body = await read_body(scope, receive, self.max_bytes)
        except PayloadTooLarge:
            await refuse(send, too_large(self.max_bytes))
            return
        if body is None:
            return  # the client went away
        await self.app(scope, replaying(body, receive), send)
