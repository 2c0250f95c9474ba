"""SMS through a real Kannel: the flow's SMS reaches the SMS centre (Kannel's fakesmsc)
through smsbox's sendsms interface, and Kannel's delivery report, sent to the dlr-url the
adapter gave, updates ``deliveryStatus`` and wakes the flow waiting for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from channels.conftest import (
    REPORTING_SMS_FLOW,
    create_flow,
    default_webhook,
    flow_complete,
    wait_status,
)
from support.app import error_code
from support.kannel import PASSWORD, USERNAME, kannel
from support.receiver import receiver

FLOW = REPORTING_SMS_FLOW


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_sms_through_kannel_with_its_delivery_report(sim_api: Any, tmp_path: Path) -> None:
    api = sim_api
    async with kannel(tmp_path / "kannel") as gateway, receiver() as rec:
        _, key = await api.account(http_enabled=True)  # Kannel's sendsms is plain HTTP
        channels = {
            "sms": "kannel",
            "kannel": {
                "url": gateway.sendsms_url,
                "username": USERNAME,
                "password": PASSWORD,
                "report_url": api.base_url,
            },
        }
        status, body = await api.request(
            "PUT", "/v1/account/settings", key=key, json={"channels": channels}
        )
        assert status == 200, body
        await default_webhook(api, key, rec.url)
        flow_id = await create_flow(api, key, FLOW)
        status, started = await api.request(
            "POST",
            f"/v1/flows/{flow_id}/executions",
            key=key,
            json={
                "version": "test",
                "dnis": "9876500001",
                "variables": {"$flow.key.name": "Asha & Ravi", "$flow.key.order": "4711"},
            },
        )
        assert status == 202, started
        done = await wait_status(api, key, started["uuid"], ("COMPLETED", "FAILED"))
        [got] = await gateway.wait_received(1)
        payload = flow_complete(await rec.wait_for(1))
    assert done["variables"]["$flow.key.outcome"] == "delivered", done
    assert "FLOWHK 919876500001 text Hi Asha & Ravi, order 4711 is ready" in got
    [sms] = payload["smsDetails"]
    assert sms["deliveryStatus"] == "DELIVERED"
    assert sms["text"] == "Hi Asha & Ravi, order 4711 is ready"
    # the message's report URL needs its token: a guessed one reports nothing
    url = f"/sms/reports/{sms['id']}?token=guessed&type=2"
    status, body = await api.request("GET", url)
    assert status == 404 and error_code(body) == "MESSAGE_NOT_FOUND"


async def test_a_report_with_a_wrong_token_is_refused(sim_api: Any) -> None:
    api = sim_api
    status, body = await api.request("GET", "/sms/reports/no-such-message?token=x&type=1")
    assert status == 404 and error_code(body) == "MESSAGE_NOT_FOUND"
    status, body = await api.request("GET", "/sms/reports/m?token=x&type=3")
    assert status == 422 and error_code(body) == "UNKNOWN_REPORT"
