"""Channel gateways under the egress guard of webhook targets: an SMSC (SMPP host), a
Kannel or HTTP gateway URL at a private address is refused when the settings are saved
(422 ``BLOCKED_ADDRESS``), one the egress policy leaves out too (``EGRESS_DENIED``); and
settings stored before the rule never make the SMPP adapter connect there — the SMS
fails with the guard's reason and the SMSC sees no connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from channels.conftest import (
    FAILED_SMS_FLOW,
    create_flow,
    smpp_channels,
    start_sms,
    wait_status,
)
from flowhook.store.tables import accounts
from support.app import error_code, running_api, settings_for
from support.smsc import smsc


@pytest.fixture
async def guarded_api(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    """A server that refuses private targets (the production default)."""
    settings = settings_for(database_url, tmp_path, allow_private_targets=False)
    async with running_api(settings) as api:
        yield api


async def put_channels(api: Any, key: str, channels: dict[str, Any]) -> tuple[int, Any]:
    status, body = await api.request(
        "PUT", "/v1/account/settings", key=key, json={"channels": channels}
    )
    return int(status), body


@pytest.mark.parametrize(
    ("channels", "path"),
    [
        (
            {"sms": "smpp", "smpp": {"host": "127.0.0.1", "system_id": "a", "password": "b"}},
            "$.channels.smpp.host",
        ),
        (
            {"sms": "smpp", "smpp": {"host": "localhost", "system_id": "a", "password": "b"}},
            "$.channels.smpp.host",
        ),
        (
            {"sms": "smpp", "smpp": {"host": "10.1.2.3", "system_id": "a", "password": "b"}},
            "$.channels.smpp.host",
        ),
        (
            {
                "sms": "kannel",
                "kannel": {
                    "url": "http://127.0.0.1:13013/cgi-bin/sendsms",
                    "username": "u",
                    "password": "p",
                },
            },
            "$.channels.kannel.url",
        ),
        (
            {
                "sms": "http",
                "http_sms": {"request": {"method": "POST", "url": "http://192.168.1.1/send"}},
            },
            "$.channels.http_sms.request.url",
        ),
    ],
)
async def test_a_private_gateway_is_refused_when_saved(
    guarded_api: Any, channels: dict[str, Any], path: str
) -> None:
    _, key = await guarded_api.account(http_enabled=True)
    status, body = await put_channels(guarded_api, key, channels)
    assert status == 422 and error_code(body) == "BLOCKED_ADDRESS", body
    assert body["error"]["details"][0]["path"] == path
    status, shown = await guarded_api.request("GET", "/v1/account/settings", key=key)
    assert shown["channels"]["sms"] == "simulator"  # nothing was saved


async def test_an_smsc_outside_the_egress_policy_is_refused_when_saved(sim_api: Any) -> None:
    # the suite's servers allow private targets but only loopback egress
    _, key = await sim_api.account()
    smpp = {"host": "10.1.2.3", "port": 2775, "system_id": "a", "password": "b"}
    status, body = await put_channels(sim_api, key, {"sms": "smpp", "smpp": smpp})
    assert status == 422 and error_code(body) == "EGRESS_DENIED", body
    assert body["error"]["details"][0]["path"] == "$.channels.smpp.host"


async def test_an_smsc_stored_before_the_rule_is_never_connected_to(guarded_api: Any) -> None:
    api = guarded_api
    account_id, key = await api.account()
    async with smsc() as center:
        channels = smpp_channels(center)  # stored as an older release would have let it
        await api.runtime.store.write(
            lambda c: c.execute(
                update(accounts).where(accounts.c.id == account_id).values(channels=channels)
            )
        )
        api.runtime.catalog.forget(account_id=account_id)
        flow_id = await create_flow(api, key, FAILED_SMS_FLOW)
        uuid = await start_sms(api, key, flow_id, "9876500001")
        done = await wait_status(api, key, uuid, ("COMPLETED", "FAILED"), timeout=30)
    assert done["variables"]["$flow.key.outcome"] == "not delivered", done
    [sms] = done["sms_details"]
    assert sms["delivery_status"] == "FAILED"
    [step] = [s for s in done["steps"] if s["widget"] == "text"]
    assert "BLOCKED_ADDRESS" in step["sms"]["detail"], step
    assert center.connections == 0 and center.submits == []
