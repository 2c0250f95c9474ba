"""A flowhook server whose simulator runs ten times faster than real time, and helpers
to ring it, press keys and read what a flow recorded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

TIME_SCALE = 0.1


@pytest.fixture
async def sim_api(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    """The server on SQLite and on PostgreSQL, every scripted time ten times shorter."""
    from support.app import running_api, settings_for

    settings = settings_for(database_url, tmp_path, time_scale=TIME_SCALE)
    async with running_api(settings) as running:
        yield running


async def create_flow(api: Any, key: str, doc: dict[str, Any]) -> str:
    status, created = await api.request("POST", "/v1/flows", key=key, json=doc)
    assert status == 201, created
    return str(created["flow_id"])


async def default_webhook(api: Any, key: str, url: str) -> None:
    status, body = await api.request(
        "POST", "/v1/webhooks", key=key, json={"name": "default", "url": url, "is_default": True}
    )
    assert status == 201, body


async def wait_status(
    api: Any, key: str, uuid: str, statuses: tuple[str, ...], timeout: float = 15
) -> dict[str, Any]:
    """The execution once its status is one of ``statuses`` (waiting for the event)."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = await api.request("GET", f"/v1/executions/{uuid}", key=key)
        assert status == 200, body
        if body["status"] in statuses:
            return dict(body)
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.02)


async def wait_in(api: Any, key: str, uuid: str, widget: str) -> dict[str, Any]:
    """The execution once it waits in ``widget``."""
    deadline = time.monotonic() + 15
    while True:
        _, body = await api.request("GET", f"/v1/executions/{uuid}", key=key)
        steps = body["steps"]
        if body["status"] == "WAITING" and steps and steps[-1]["widget"] == widget:
            return dict(body)
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.02)


def flow_complete(received: list[Any]) -> dict[str, Any]:
    """The flow-complete payload among the requests a receiver got."""
    payloads = [r.json() for r in received if b"phonon-uuid" in r.body]
    assert len(payloads) == 1, [r.body for r in received]
    return dict(payloads[0])
