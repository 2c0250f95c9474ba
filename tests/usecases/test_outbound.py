"""The outbound use cases called directly: a request starts one execution per valid call,
refusals carry the original's body codes (security-id, IP whitelist, kind of flow, a body
repeated), and the request's summary belongs to its account."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from flowhook.domain.account import Account
from flowhook.errors import NotFound
from flowhook.runtime import Runtime
from flowhook.store import flows as flow_repo
from flowhook.store.flows import FlowRecord
from flowhook.usecases import accounts, outbound
from flowhook.usecases.outbound import Kind, Rejected, ResponseCode
from support.app import settings_for


async def a_flow(rt: Runtime, account: Account, flow_type: str = "outbound") -> FlowRecord:
    document = {
        "name": f"greet_{flow_type}",
        "type": flow_type,
        "entry": {"start": "a"},
        "widgets": {
            "a": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.greeting", "value": "hi"}],
                "next": "b",
            },
            "b": {"type": "end"},
        },
    }
    now = rt.now()
    return await rt.store.write(lambda c: flow_repo.create(c, account.id, document, now))


def body(flow: FlowRecord, *numbers: str, security_id: str | None = None) -> bytes:
    calls: list[dict[str, Any]] = [
        {"client-identifier": f"c-{i}", "contact-numbers": [n]} for i, n in enumerate(numbers)
    ]
    return json.dumps(
        {
            "api-version": "TEST",
            "security-id": security_id or flow.security_id,
            "flow-id": flow.flow_id,
            "calls": calls,
        }
    ).encode()


async def test_valid_calls_start_and_the_summary_counts_them(rt: Runtime, account: Account) -> None:
    flow = await a_flow(rt, account)
    outcome = await outbound.create(
        rt, body(flow, "9876543210", "not a number"), kind="outbound", address="127.0.0.1"
    )
    assert outcome.code is ResponseCode.PARTIAL_SUCCESS and outcome.request_id
    assert [d["phonon-uuid"] is not None for d in outcome.call_details] == [True, False]
    summary = await outbound.summary(rt, account, outcome.request_id)
    record = summary.record
    assert (record.records_loaded, record.records_valid, record.records_invalid) == (2, 1, 1)
    assert (record.flow_id, record.flow_type, record.source) == (flow.flow_id, "outbound", "api")
    assert summary.status == "In process"  # pending, due now: no worker runs here
    assert (summary.records_completed, summary.completion_percent) == (0, 0.0)


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_the_summary_of_another_accounts_request_is_not_found(
    rt: Runtime, account: Account
) -> None:
    flow = await a_flow(rt, account)
    outcome = await outbound.create(rt, body(flow, "9876543210"), kind="outbound", address=None)
    assert outcome.request_id is not None
    other = (await accounts.create(rt, accounts.NewAccount(name="other"))).account
    with pytest.raises(NotFound) as missing:
        await outbound.summary(rt, other, outcome.request_id)
    assert missing.value.code == "REQUEST_NOT_FOUND"


async def test_refusals_carry_the_originals_body_codes(rt: Runtime, account: Account) -> None:
    flow = await a_flow(rt, account)
    cases: list[tuple[bytes, Kind, ResponseCode]] = [
        (
            body(flow, "9876543210", security_id="wrong"),
            "outbound",
            ResponseCode.INVALID_SECURITY_ID,
        ),
        (body(flow, "9876543210"), "dialer", ResponseCode.INVALID_FLOW_ID),
        (b"{not json", "outbound", ResponseCode.INVALID_FORMAT),
    ]
    for raw, kind, code in cases:
        with pytest.raises(Rejected) as refused:
            await outbound.create(rt, raw, kind=kind, address="127.0.0.1")
        assert refused.value.response_code is code


async def test_the_callers_address_must_be_in_the_accounts_whitelist(
    rt: Runtime, account: Account
) -> None:
    flow = await a_flow(rt, account)
    await accounts.operator_update(
        rt, account.id, accounts.OperatorPatch(ip_whitelist=["10.0.0.0/8"])
    )
    raw = body(flow, "9876543210")
    for address in ("127.0.0.1", None):
        with pytest.raises(Rejected) as refused:
            await outbound.create(rt, raw, kind="outbound", address=address)
        assert refused.value.response_code is ResponseCode.IP_NOT_WHITELISTED
    outcome = await outbound.create(rt, raw, kind="outbound", address="10.1.2.3")
    assert outcome.code is ResponseCode.SUCCESS


async def test_an_identical_body_repeated_is_refused(rt: Runtime, account: Account) -> None:
    flow = await a_flow(rt, account)
    raw = body(flow, "9876543210")
    await outbound.create(rt, raw, kind="outbound", address=None)
    with pytest.raises(Rejected) as repeated:
        await outbound.create(rt, raw, kind="outbound", address=None)
    assert repeated.value.response_code is ResponseCode.CHECKSUM_REPEATED


async def test_calls_accepted_wake_this_processs_runner(database_url: str, tmp_path: Path) -> None:
    """In a process that runs executions, calls due now start at once: the use case wakes the
    runner through the admission the runtime lends (ExecutionIntake), instead of leaving them
    to the next poll (an hour away here). Without the wake-up this test never ends (pytest's
    timeout)."""
    rt = Runtime.build(settings_for(database_url, tmp_path, poll_interval_s=3600.0))
    try:
        account = (await accounts.create(rt, accounts.NewAccount(name="acme"))).account
        flow = await a_flow(rt, account)

        async def accept(number: str) -> str:
            raw = body(flow, number)
            outcome = await outbound.create(rt, raw, kind="outbound", address="127.0.0.1")
            assert outcome.request_id is not None
            return outcome.request_id

        async def completed(request_id: str) -> None:
            while (await outbound.summary(rt, account, request_id)).records_completed < 1:
                await asyncio.sleep(0.01)

        # Stored before start: the runner's first look claims it. Once it has finished, the
        # claim loop sleeps for the poll interval and only a wake-up runs the second one.
        before = await accept("9876543210")
        await rt.start()
        await completed(before)
        await completed(await accept("9876543211"))
    finally:
        await rt.stop()


@pytest.mark.slow
async def test_calls_accepted_by_an_api_only_process_wake_the_workers_of_others(
    postgres_url: str, tmp_path: Path
) -> None:
    """On PostgreSQL, calls due now that an API-only process (``serve --no-worker``) accepted
    start at once in a worker process: they are admitted as a trigger's executions are, which
    notifies the listening workers, instead of waiting for their next poll (an hour away
    here). Without the notification this test never ends (pytest's timeout)."""
    settings = settings_for(postgres_url, tmp_path, poll_interval_s=3600.0)
    worker = Runtime.build(settings)
    api_only = Runtime.build(settings, migrate=False)
    try:
        account = (await accounts.create(api_only, accounts.NewAccount(name="acme"))).account
        flow = await a_flow(api_only, account)
        await worker.start()
        await api_only.start(worker=False)
        await asyncio.sleep(0.2)  # the worker's first look at the table has come and gone
        outcome = await outbound.create(
            api_only, body(flow, "9876543210"), kind="outbound", address="127.0.0.1"
        )
        assert outcome.request_id is not None
        while (await outbound.summary(api_only, account, outcome.request_id)).records_completed < 1:
            await asyncio.sleep(0.01)
    finally:
        await api_only.stop()
        await worker.stop()
