"""Flows, triggers and deliveries as tests arrange and observe them through the API: the
small flows many tests start, and the waits for what a user would look at next."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any


def two_step_flow(
    name: str = "greet",
    *,
    variable: str = "$flow.key.greeting",
    value: Any = "hi $flow.key.name",
) -> dict[str, Any]:
    """The smallest flow that does something: widget ``a`` sets one variable, ``b`` ends."""
    return {
        "name": name,
        "type": "outbound",
        "entry": {"start": "a"},
        "widgets": {
            "a": {
                "type": "store_variable",
                "assignments": [{"variable": variable, "value": value}],
                "next": "b",
            },
            "b": {"type": "end"},
        },
    }


async def default_webhook_and_flow(
    api: Any, url: str, flow: dict[str, Any], *, name: str = "default", **hook: Any
) -> tuple[str, str]:
    """A new account (plain HTTP allowed) whose default webhook, ``name``, points at
    ``url``, and ``flow`` created in it: (API key, flow id)."""
    _, key = await api.account(http_enabled=True)
    webhook = {"name": name, "url": url, "is_default": True, **hook}
    status, saved = await api.request("POST", "/v1/webhooks", key=key, json=webhook)
    assert status == 201, saved
    status, created = await api.request("POST", "/v1/flows", key=key, json=flow)
    assert status == 201, created
    return key, str(created["flow_id"])


def dead_url(path: str = "/hook") -> str:
    """A URL on 127.0.0.1 where nothing listens (a port bound a moment ago and closed):
    connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


async def delivery_of(
    api: Any, key: str, uuid: str, status: str, timeout: float = 15
) -> dict[str, Any]:
    """The delivery an execution made, with its attempts, once it has ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        _, listed = await api.request("GET", f"/v1/deliveries?execution={uuid}", key=key)
        if listed["deliveries"] and listed["deliveries"][0]["status"] == status:
            _, full = await api.request(
                "GET", f"/v1/deliveries/{listed['deliveries'][0]['id']}", key=key
            )
            return dict(full)
        assert time.monotonic() < deadline, listed
        await asyncio.sleep(0.02)
