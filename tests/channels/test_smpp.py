"""SMS over SMPP 3.4 against a small SMSC written for the tests (tests/support/smsc.py):
the message reaches the SMSC with its variables substituted, the ``deliver_sm`` receipt's
``stat:`` becomes the ``deliveryStatus`` and wakes the flow waiting for it; a bind the SMSC
drops is bound again and the message is not lost; ``ESME_RTHROTTLED`` answers back off and
retry; ``max_per_second`` spaces the submits."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest

from channels.conftest import (
    FAILED_SMS_FLOW,
    REPORTING_SMS_FLOW,
    create_flow,
    default_webhook,
    smpp_channels,
    start_sms,
    wait_status,
)
from support.receiver import receiver
from support.smsc import Smsc, smsc

FLOW = REPORTING_SMS_FLOW


async def smpp_account(api: Any, center: Smsc, **options: Any) -> str:
    _, key = await api.account(http_enabled=True)  # the test's webhook receiver is plain HTTP
    status, body = await api.request(
        "PUT", "/v1/account/settings", key=key, json={"channels": smpp_channels(center, **options)}
    )
    assert status == 200, body
    return str(key)


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_sms_through_smpp_with_its_delivery_receipts(sim_api: Any) -> None:
    api = sim_api
    async with smsc(receipts={"919876500009": "UNDELIV"}) as center, receiver() as rec:
        key = await smpp_account(api, center)
        await default_webhook(api, key, rec.url)
        flow_id = await create_flow(api, key, FLOW)
        delivered = await start_sms(api, key, flow_id, "9876500001")
        undelivered = await start_sms(api, key, flow_id, "9876500009")
        ok = await wait_status(api, key, delivered, ("COMPLETED", "FAILED"))
        bad = await wait_status(api, key, undelivered, ("COMPLETED", "FAILED"))
        payloads = {p["phonon-uuid"]: p for p in (r.json() for r in await rec.wait_for(2))}
    assert ok["variables"]["$flow.key.outcome"] == "delivered", ok
    assert bad["variables"]["$flow.key.outcome"] == "not delivered", bad
    texts = sorted((s.destination, s.source, s.text) for s in center.accepted())
    assert texts == [
        ("919876500001", "FLOWHK", "Hi Asha, order 4711 is ready"),
        ("919876500009", "FLOWHK", "Hi Asha, order 4711 is ready"),
    ]
    [sms] = payloads[delivered]["smsDetails"]
    assert sms["deliveryStatus"] == "DELIVERED" and sms["to"] == "919876500001"
    [sms] = payloads[undelivered]["smsDetails"]
    assert sms["deliveryStatus"] == "UNDELIVERED"
    assert center.binds == 1  # one bind for both messages


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_dropped_bind_is_bound_again_and_the_message_is_not_lost(sim_api: Any) -> None:
    api = sim_api
    async with smsc(drop_first=1) as center:
        key = await smpp_account(api, center)
        flow_id = await create_flow(api, key, FLOW)
        uuid = await start_sms(api, key, flow_id, "9876500001")
        done = await wait_status(api, key, uuid, ("COMPLETED", "FAILED"), timeout=30)
    assert done["variables"]["$flow.key.outcome"] == "delivered", done
    assert [s.answer for s in center.submits] == ["dropped", "ESME_ROK"]
    assert center.binds == 2
    assert done["sms_details"][0]["delivery_status"] == "DELIVERED"


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_throttled_submits_back_off_and_are_retried(sim_api: Any) -> None:
    api = sim_api
    async with smsc(throttle_first=2) as center:
        key = await smpp_account(api, center, throttle_backoff_s=0.3)
        flow_id = await create_flow(api, key, FLOW)
        uuid = await start_sms(api, key, flow_id, "9876500001")
        done = await wait_status(api, key, uuid, ("COMPLETED", "FAILED"), timeout=30)
    assert done["variables"]["$flow.key.outcome"] == "delivered", done
    answers = [s.answer for s in center.submits]
    assert answers == ["ESME_RTHROTTLED", "ESME_RTHROTTLED", "ESME_ROK"]
    first, second, third = (s.at for s in center.submits)
    assert second - first >= 0.3 * 0.9  # backed off ...
    assert third - second >= 0.6 * 0.9  # ... twice as long after the second throttling


@pytest.mark.serial  # measures the spacing: alone, not beside other tests
@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_max_per_second_spaces_the_submits(sim_api: Any) -> None:
    api = sim_api
    async with smsc() as center:
        key = await smpp_account(api, center, max_per_second=5.0)
        flow_id = await create_flow(api, key, FLOW)
        uuids = await asyncio.gather(
            *(start_sms(api, key, flow_id, f"98765000{i:02d}") for i in range(1, 7))
        )
        for uuid in uuids:
            done = await wait_status(api, key, uuid, ("COMPLETED", "FAILED"), timeout=30)
            assert done["variables"]["$flow.key.outcome"] == "delivered", done
    times = sorted(s.at for s in center.accepted())
    assert len(times) == 6
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # five a second: one every 200 ms. Times are taken where the SMSC reads them, in the
    # server's event loop: a submit read late (the loop busy starting the other flows)
    # shortens one gap and lengthens the next, so the span is judged, and each gap loosely.
    assert times[-1] - times[0] >= 5 * 0.2 * 0.8, gaps
    assert min(gaps) >= 0.2 * 0.5, gaps  # never a burst


async def test_a_refused_bind_fails_the_message_with_the_smscs_reason(sim_api: Any) -> None:
    api = sim_api
    async with smsc() as center:
        _, key = await api.account()
        channels = smpp_channels(center)
        channels["smpp"]["password"] = "wrong"
        status, body = await api.request(
            "PUT", "/v1/account/settings", key=key, json={"channels": channels}
        )
        assert status == 200, body
        flow_id = await create_flow(api, key, FAILED_SMS_FLOW)
        uuid = await start_sms(api, key, flow_id, "9876500001")
        done = await wait_status(api, key, uuid, ("COMPLETED", "FAILED"), timeout=30)
    assert done["variables"]["$flow.key.outcome"] == "not delivered", done
    [sms] = done["sms_details"]
    assert sms["delivery_status"] == "FAILED"
    logged = [s for s in done["steps"] if s["widget"] == "text"]
    assert "ESME_RINVPASWD" in json.dumps(logged), logged
    assert center.binds == 0 and center.refused_binds >= 1
    assert center.submits == []
