"""The outbound (OBD) API, ``POST /kairos-apis/outbound/create``: every body code of the
original, the versions, the start time, and the request summary."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from internal_factories import greet_flow, make_flow, obd_body
from sqlalchemy.exc import OperationalError

from support.app import running_api
from support.app import settings_for as settings_for

CREATE = "/kairos-apis/outbound/create"
IST = timezone(timedelta(hours=5, minutes=30))


async def post(api: Any, body: Any, path: str = CREATE) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer: tuple[int, Any] = await api.request(
        "POST", path, data=data, headers={"Content-Type": "application/json"}
    )
    return answer


def code_of(answer: Any) -> int:
    return int(answer["api-response-code"])


async def test_a_call_starts_one_execution_with_its_keys_and_numbers(api_any: Any) -> None:
    api = api_any
    _, key = await api.account()
    flow = await make_flow(api, key)
    body = obd_body(
        flow,
        {
            "client-identifier": "cust-42",
            "contact-numbers": ["98765 43210", "+91 98100 12345"],
            "keys": [{"name": "$flow.key.name", "value": "Asha"}],
        },
    )
    status, answer = await post(api, body)
    assert status == 200
    assert answer["api-response-code"] == 200
    assert answer["api-response-message"] == "Success"
    [call] = answer["call-details"]
    assert call["client-identifier"] == "cust-42"
    execution = await api.wait_for(call["phonon-uuid"], key)
    assert execution["status"] == "COMPLETED"
    assert execution["request_id"] == answer["request-id"]
    variables = execution["variables"]
    assert variables["$flow.key.greeting"] == "hi Asha"
    assert variables["$flow.syskey.contactNumbers"] == ["919876543210", "919810012345"]
    assert variables["$flow.syskey.clientID"] == "cust-42"
    assert variables["$call.dnis.number"] == "919876543210"
    assert execution["contact"] == "919876543210"

    status, summary = await api.request("GET", f"/v1/requests/{answer['request-id']}", key=key)
    assert status == 200, summary
    assert summary["records_loaded"] == 1
    assert summary["records_valid"] == 1
    assert summary["records_invalid"] == 0
    assert summary["records_completed"] == 1
    assert summary["completion_percent"] == 100.0
    assert summary["status"] == "Completed"
    assert summary["source"] == "api"


async def test_an_identical_body_repeated_is_refused_with_201(api_any: Any) -> None:
    api = api_any
    _, key = await api.account()
    flow = await make_flow(api, key)
    raw = json.dumps(obd_body(flow)).encode()
    first = await post(api, raw)
    again = await post(api, raw)
    changed = await post(api, raw + b" ")  # one byte differs: a new request
    assert code_of(first[1]) == 200
    assert again == (200, again[1])
    assert code_of(again[1]) == 201
    assert again[1]["api-response-message"] == "Checksum Repeated"
    assert again[1]["request-id"] is None
    assert code_of(changed[1]) == 200


async def test_wrong_security_id_gives_202(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    body = {**obd_body(flow), "security-id": "x" * 64}
    status, answer = await post(api, body)
    assert (status, code_of(answer)) == (200, 202)
    assert answer["api-response-message"] == "Invalid Security ID"


async def test_unsupported_api_version_gives_203(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    for version in ("2.0", "prod", 1, True, ["1.0"]):
        status, answer = await post(api, {**obd_body(flow), "api-version": version})
        assert (status, code_of(answer)) == (200, 203), version


async def test_no_valid_contact_number_gives_205(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    body = obd_body(flow, {"client-identifier": "c", "contact-numbers": ["12", "not-a-number"]})
    status, answer = await post(api, body)
    assert (status, code_of(answer)) == (200, 205)
    assert answer["call-details"][0]["phonon-uuid"] is None


async def test_some_invalid_calls_give_209_partial_success(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    body = obd_body(
        flow,
        {"client-identifier": "good", "contact-numbers": ["9876543210"]},
        {"client-identifier": "bad", "contact-numbers": ["123"]},
    )
    status, answer = await post(api, body)
    assert (status, code_of(answer)) == (200, 209)
    good, bad = answer["call-details"]
    assert good["phonon-uuid"] and good["client-identifier"] == "good"
    assert bad["phonon-uuid"] is None and bad["api-response-code"] == 205
    await api.wait_for(good["phonon-uuid"], key)
    _, summary = await api.request("GET", f"/v1/requests/{answer['request-id']}", key=key)
    assert (summary["records_loaded"], summary["records_valid"], summary["records_invalid"]) == (
        2,
        1,
        1,
    )


async def test_missing_mandatory_parameters_give_210(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    body = obd_body(flow)
    for missing in ("api-version", "security-id", "flow-id", "calls"):
        incomplete = {k: v for k, v in body.items() if k != missing}
        status, answer = await post(api, incomplete)
        assert (status, code_of(answer)) == (200, 210), missing
    no_numbers = obd_body(flow, {"client-identifier": "c", "keys": []})
    assert code_of((await post(api, no_numbers))[1]) == 210
    bad_key = obd_body(
        flow, {"contact-numbers": ["9876543210"], "keys": [{"name": "$call.cdr", "value": 1}]}
    )
    assert code_of((await post(api, bad_key))[1]) == 210


async def test_unknown_flow_or_wrong_kind_gives_301(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    dialer = await make_flow(api, key, greet_flow("dial", "dialer"))
    unknown = {**obd_body(flow), "flow-id": "ZZZZZZZZ"}
    assert code_of((await post(api, unknown))[1]) == 301
    odd = {**obd_body(flow), "flow-id": "../../etc"}
    assert code_of((await post(api, odd))[1]) == 301
    # a dialer flow is started by the dialer endpoint only, and the other way round
    assert code_of((await post(api, obd_body(dialer)))[1]) == 301
    assert (
        code_of((await post(api, obd_body(flow), "/kairos-apis/outbounddialer/create"))[1]) == 301
    )
    status, answer = await post(api, obd_body(dialer), "/kairos-apis/outbounddialer/create")
    assert (status, code_of(answer)) == (200, 200)


async def test_empty_call_list_gives_302(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    status, answer = await post(api, {**obd_body(flow), "calls": []})
    assert (status, code_of(answer)) == (200, 302)


async def test_more_than_500_calls_give_303(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    calls = [{"contact-numbers": ["9876543210"]}] * 501
    status, answer = await post(api, {**obd_body(flow), "calls": calls})
    assert (status, code_of(answer)) == (200, 303)


async def test_version_1_0_of_an_unpublished_flow_gives_304(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    status, answer = await post(api, obd_body(flow, version="1.0"))
    assert (status, code_of(answer)) == (200, 304)


async def test_malformed_bodies_give_400(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    for raw in (b"{not json", b"[1, 2]", b'"text"', b"", b'{"a": NaN}', b'{"a": 1e999}'):
        status, answer = await post(api, raw)
        assert (status, code_of(answer)) == (200, 400), raw
    status, answer = await post(api, {**obd_body(flow), "calls": "9876543210"})
    assert (status, code_of(answer)) == (200, 400)


async def test_a_caller_outside_the_ip_whitelist_gets_401(api: Any) -> None:
    account_id, key = await api.account()
    flow = await make_flow(api, key)
    # set by the operator: the account itself may not shut out its own address
    status, _ = await api.request(
        "PATCH",
        f"/v1/operator/accounts/{account_id}",
        key="operator-secret",
        json={"ip_whitelist": ["10.0.0.0/8"]},
    )
    assert status == 200
    status, answer = await post(api, obd_body(flow))
    assert (status, code_of(answer)) == (200, 401)
    assert answer["api-response-message"] == "IP Not Whitelisted"


async def test_a_body_over_256_kb_is_refused(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    body = obd_body(flow)
    body["padding"] = "x" * (256 * 1024)
    status, answer = await post(api, body)
    assert status == 413
    assert answer["error"]["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_store_failure_answers_500_failure(api: Any, monkeypatch: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)

    async def broken(fn: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(api.runtime.store, "write", broken)
    status, answer = await post(api, obd_body(flow))
    assert (status, code_of(answer)) == (500, 500)
    assert answer["api-response-message"] == "Failure"


async def test_version_1_0_runs_prod_and_test_runs_the_test_version(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key, greet_flow(text="prod"), publish=True)
    status, _ = await api.request(
        "PUT", f"/v1/flows/{flow['flow_id']}", key=key, json=greet_flow(text="test")
    )
    assert status == 200
    api.runtime.catalog.forget(flow_id=flow["flow_id"])
    greetings = {}
    for version in ("1.0", "TEST"):
        body = obd_body(flow, version=version)
        body["calls"][0]["client-identifier"] = version
        _, answer = await post(api, body)
        execution = await api.wait_for(answer["call-details"][0]["phonon-uuid"], key)
        greetings[version] = (execution["version"], execution["variables"]["$flow.key.greeting"])
    assert greetings == {"1.0": ("prod", "prod Asha"), "TEST": ("test", "test Asha")}


async def test_start_time_on_an_earlier_day_is_refused_and_earlier_today_starts_now(
    api: Any,
) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    now = datetime.now(IST)
    yesterday = (now - timedelta(days=1)).isoformat(timespec="seconds")
    status, answer = await post(
        api, obd_body(flow, {"contact-numbers": ["9876543210"], "start-time": yesterday})
    )
    assert (status, code_of(answer)) == (200, 210)
    earlier = now.replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    status, answer = await post(
        api, obd_body(flow, {"contact-numbers": ["9876543210"], "start-time": earlier})
    )
    assert code_of(answer) == 200
    execution = await api.wait_for(answer["call-details"][0]["phonon-uuid"], key)
    assert execution["status"] == "COMPLETED"
    no_offset = now.replace(tzinfo=None).isoformat()
    _, answer = await post(
        api, obd_body(flow, {"contact-numbers": ["9876543210"], "start-time": no_offset})
    )
    assert code_of(answer) == 400


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_a_start_time_in_the_future_is_scheduled_then_runs(api: Any) -> None:
    _, key = await api.account()
    flow = await make_flow(api, key)
    start = datetime.now(IST) + timedelta(seconds=1.5)
    _, answer = await post(
        api, obd_body(flow, {"contact-numbers": ["9876543210"], "start-time": start.isoformat()})
    )
    assert code_of(answer) == 200
    uuid = answer["call-details"][0]["phonon-uuid"]
    _, summary = await api.request("GET", f"/v1/requests/{answer['request-id']}", key=key)
    assert summary["status"] == "Scheduled"
    _, execution = await api.request("GET", f"/v1/executions/{uuid}", key=key)
    assert execution["status"] == "PENDING"
    done = await api.wait_for(uuid, key, timeout=10)
    assert done["started_at"] >= start.timestamp() - 0.05
    _, summary = await api.request("GET", f"/v1/requests/{answer['request-id']}", key=key)
    assert summary["status"] == "Completed"


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
async def test_a_delayed_start_survives_a_restart(sqlite_url: str, tmp_path: Any) -> None:
    settings = settings_for(sqlite_url, tmp_path)
    async with running_api(settings) as api:
        _, key = await api.account()
        flow = await make_flow(api, key)
        start = datetime.now(IST) + timedelta(seconds=1.0)
        _, answer = await post(
            api,
            obd_body(
                flow,
                {
                    "contact-numbers": ["9876543210"],
                    "start-time": start.isoformat(),
                    "keys": [{"name": "$flow.key.name", "value": "Asha"}],
                },
            ),
        )
        uuid = answer["call-details"][0]["phonon-uuid"]
    # the process that accepted the request is gone; a new one finds the due start
    await asyncio.sleep(0.2)
    async with running_api(settings) as api:
        execution = await api.wait_for(uuid, key, timeout=10)
        assert execution["status"] == "COMPLETED"
        assert execution["variables"]["$flow.key.greeting"] == "hi Asha"


async def test_the_request_summary_belongs_to_its_account(api: Any) -> None:
    _, key = await api.account("a")
    _, other = await api.account("b")
    flow = await make_flow(api, key)
    _, answer = await post(api, obd_body(flow))
    status, body = await api.request("GET", f"/v1/requests/{answer['request-id']}", key=other)
    assert status == 404
    assert body["error"]["code"] == "REQUEST_NOT_FOUND"


async def test_odd_text_in_identifiers_and_values_is_kept(api_any: Any) -> None:
    api = api_any
    _, key = await api.account()
    flow = await make_flow(api, key)
    odd = 'Zoë \u0000 "q" <&> 🎉 \\'
    body = obd_body(
        flow,
        {
            "client-identifier": odd,
            "contact-numbers": ["9876543210"],
            "keys": [{"name": "$flow.key.name", "value": odd}],
        },
    )
    status, answer = await post(api, body)
    assert (status, code_of(answer)) == (200, 200), answer
    assert answer["call-details"][0]["client-identifier"] == odd
    execution = await api.wait_for(answer["call-details"][0]["phonon-uuid"], key)
    assert execution["variables"]["$flow.key.greeting"] == f"hi {odd}"
