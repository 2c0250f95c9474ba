"""The console's server-sent events helper: an ``update`` event each time the fragment
changes, a ``done`` event at the end, multi-line HTML as several ``data:`` lines."""

from __future__ import annotations

import asyncio
from typing import Any

from flowhook.ui.sse import event, live


class _Request:
    """What ``live`` asks of a request: whether the browser went away."""

    async def is_disconnected(self) -> bool:
        return False


def test_an_event_carries_every_line_of_its_data() -> None:
    assert event("<p>\nhi</p>", "update") == "event: update\ndata: <p>\ndata: hi</p>\n\n"
    assert event("") == "data: \n\n"


def test_live_sends_each_change_once_then_done() -> None:
    states = iter(["running", "running", "running: step 2", "done"])
    current = {"value": ""}

    async def render_now() -> str:
        current["value"] = next(states)
        return f"<b>{current['value']}</b>"

    async def collect() -> list[str]:
        response = live(
            _Request(),  # type: ignore[arg-type]
            render_now,
            lambda: current["value"] == "done",
            interval_s=0.001,
        )
        chunks: list[Any] = [chunk async for chunk in response.body_iterator]
        return [c if isinstance(c, str) else bytes(c).decode() for c in chunks]

    sent = asyncio.run(collect())
    assert sent == [
        "event: update\ndata: <b>running</b>\n\n",
        "event: update\ndata: <b>running: step 2</b>\n\n",
        "event: update\ndata: <b>done</b>\n\n",
        "event: done\ndata: \n\n",
    ]
