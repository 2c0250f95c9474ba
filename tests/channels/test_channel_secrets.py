"""Channel passwords at rest: the Kannel gateway's and the SMPP bind's are stored
encrypted, shown as ``***``, and ``***`` sent back keeps the stored value — the rule of
webhook secrets. What the gateway receives proves the real value is still the one used."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from channels.conftest import REPORTING_SMS_FLOW as FLOW
from channels.conftest import create_flow, smpp_channels, wait_status
from channels.conftest import start_sms as start
from flowhook.store.tables import accounts
from support.app import error_code
from support.receiver import receiver
from support.smsc import smsc


async def stored_channels(api: Any, account_id: str) -> str:
    row = await api.runtime.store.read(
        lambda c: c.execute(select(accounts.c.channels).where(accounts.c.id == account_id)).one()
    )
    return json.dumps(row[0])


async def put_channels(api: Any, key: str, channels: dict[str, Any]) -> tuple[int, Any]:
    status, body = await api.request(
        "PUT", "/v1/account/settings", key=key, json={"channels": channels}
    )
    return int(status), body


async def test_kannel_password_is_encrypted_at_rest_and_shown_masked(sim_api: Any) -> None:
    api = sim_api
    account_id, key = await api.account(http_enabled=True)
    async with receiver("/cgi-bin/sendsms") as gateway:  # stands in for Kannel's smsbox
        kannel = {"url": gateway.url, "username": "flowhook", "password": "kannel-pw-42"}
        status, body = await put_channels(api, key, {"sms": "kannel", "kannel": kannel})
        assert status == 200, body
        assert body["channels"]["kannel"]["password"] == "***"
        assert "kannel-pw-42" not in await stored_channels(api, account_id)
        status, shown = await api.request("GET", "/v1/account/settings", key=key)
        assert shown["channels"]["kannel"]["password"] == "***"
        assert "sealed" not in shown["channels"]
        # the settings sent back as shown keep the password
        status, body = await put_channels(api, key, shown["channels"])
        assert status == 200, body
        flow_id = await create_flow(
            api,
            key,
            {**FLOW, "widgets": {"text": {"type": "sms", "from": "FLOWHK", "text": "hello"}}},
        )
        uuid = await start(api, key, flow_id, "9876500001")
        await wait_status(api, key, uuid, ("COMPLETED", "FAILED"))
        [got] = await gateway.wait_for(1)
    assert got.query["password"] == "kannel-pw-42"
    assert got.query["username"] == "flowhook"


async def test_a_masked_password_with_nothing_stored_is_refused(sim_api: Any) -> None:
    api = sim_api
    _, key = await api.account()
    kannel = {"url": "http://127.0.0.1:9/cgi-bin/sendsms", "username": "u", "password": "***"}
    status, body = await put_channels(api, key, {"sms": "kannel", "kannel": kannel})
    assert status == 422 and error_code(body) == "UNKNOWN_SECRET", body


async def test_smpp_password_is_encrypted_at_rest_and_still_binds(sim_api: Any) -> None:
    api = sim_api
    account_id, key = await api.account()
    async with smsc(password="bind-pw1") as center:
        status, body = await put_channels(api, key, smpp_channels(center))
        assert status == 200, body
        assert body["channels"]["smpp"]["password"] == "***"
        assert "bind-pw1" not in await stored_channels(api, account_id)
        status, body = await put_channels(api, key, body["channels"])  # sent back as shown
        assert status == 200, body
        flow_id = await create_flow(api, key, FLOW)
        uuid = await start(api, key, flow_id, "9876500001")
        done = await wait_status(api, key, uuid, ("COMPLETED", "FAILED"), timeout=30)
    assert done["variables"]["$flow.key.outcome"] == "delivered", done
    assert center.binds == 1 and center.refused_binds == 0
