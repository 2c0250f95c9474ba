"""A serving process binds to its SMSC at start-up, not on the first message; a link the
SMSC drops is bound again (with back-off); ``/healthz`` shows the bind's state."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from channels.conftest import smpp_channels
from support.app import running_api, settings_for
from support.smsc import Smsc, smsc


async def wait_binds(center: Smsc, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while center.binds < count:
        assert time.monotonic() < deadline, (center.binds, center.connections)
        await asyncio.sleep(0.02)


async def health(api: Any) -> dict[str, Any]:
    status, body = await api.request("GET", "/healthz")
    assert status == 200, body
    return dict(body)


async def wait_state(api: Any, state: str, binds: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        [smpp] = (await health(api)).get("smpp", {"-": {}}).values()
        if smpp.get("state") == state and smpp.get("binds") == binds:
            return dict(smpp)
        assert time.monotonic() < deadline, smpp
        await asyncio.sleep(0.02)


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_the_server_binds_at_start_up_and_again_after_a_dropped_link(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(database_url, tmp_path)
    async with smsc() as center:
        async with running_api(settings) as api:
            _, key = await api.account()
            status, body = await api.request(
                "PUT", "/v1/account/channels", key=key, json=smpp_channels(center)
            )
            assert status == 200, body
            assert body["smpp"]["password"] == "***"
            await wait_binds(center, 1)  # saving the settings binds at once
        assert center.binds == 1 and center.submits == []

        async with running_api(settings) as api:  # a new process on the same database
            await wait_binds(center, 2)  # bound at start-up, no message sent
            assert center.submits == []
            await wait_state(api, "BOUND", 1)
            center.drop_binds()  # the SMSC drops the link
            await wait_binds(center, 3)
            await wait_state(api, "BOUND", 2)
        assert center.submits == []


async def test_healthz_shows_a_refused_bind(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account()
    async with smsc() as center:
        channels = smpp_channels(center)
        channels["smpp"]["password"] = "wrong"
        status, body = await api.request("PUT", "/v1/account/channels", key=key, json=channels)
        assert status == 200, body
        deadline = time.monotonic() + 30
        while True:
            [smpp] = (await health(api)).get("smpp", {"-": {}}).values()
            if smpp.get("state") == "REFUSED":
                break
            assert time.monotonic() < deadline, smpp
            await asyncio.sleep(0.02)
    assert "ESME_RINVPASWD" in smpp["error"] and smpp["binds"] == 0
    assert center.refused_binds >= 1 and center.binds == 0
