"""Server-sent events for live pages, with Starlette's ``StreamingResponse`` (no extra
dependency): htmx's SSE extension (``static/htmx-ext-sse.min.js``) swaps each event's
HTML into the element that listens for it.

    <div hx-ext="sse" sse-connect="/executions/{{ uuid }}/live" sse-swap="update"
         sse-close="done">…</div>

A handler returns ``live(request, render_now, done)``: ``render_now()`` renders the
fragment from the current state (through the use cases), and an ``update`` event is sent
each time the fragment changes; once ``done()`` is true, a last ``update`` and a ``done``
event end the stream. Polling the store every ``interval_s`` keeps this simple and works
across server processes (whichever process runs the execution).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import StreamingResponse

KEEPALIVE_S = 15.0


def event(data: str, name: str | None = None) -> str:
    """One SSE event; every line of ``data`` is a ``data:`` line."""
    lines = [f"event: {name}"] if name else []
    lines += [f"data: {line}" for line in (data.splitlines() or [""])]
    return "\n".join(lines) + "\n\n"


def live(
    request: Request,
    render_now: Callable[[], Awaitable[str]],
    done: Callable[[], bool],
    *,
    interval_s: float = 0.5,
) -> StreamingResponse:
    """Stream ``render_now()``'s fragment as ``update`` events while it changes."""

    async def stream() -> AsyncIterator[str]:
        last, quiet = None, 0.0
        while True:
            html = await render_now()
            finished = done()
            if html != last:
                yield event(html, "update")
                last, quiet = html, 0.0
            if finished:
                yield event("", "done")
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(interval_s)
            quiet += interval_s
            if quiet >= KEEPALIVE_S:  # a comment: proxies keep an idle stream open
                yield ": keep-alive\n\n"
                quiet = 0.0

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
