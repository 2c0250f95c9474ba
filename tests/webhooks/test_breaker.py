"""A receiver that is down trips its endpoint's circuit: its deliveries are held back in
the database (not attempted one by one) until a probe after the cool-down succeeds, other
receivers are served meanwhile, nothing is lost, and what has waited longer than the whole
retry schedule is dead-lettered as ``CIRCUIT_OPEN``."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from flowhook.domain.message import OutgoingRequest
from flowhook.settings import Settings
from flowhook.store import deliveries as delivery_repo
from flowhook.store.tables import deliveries, delivery_attempts
from flowhook.webhooks.breaker import Admission, Breaker, State
from flowhook.webhooks.delivery import endpoint_of
from support.receiver import receiver

# the state machine, on a fake clock ---------------------------------------------------
A, B = "a.example:443", "b.example:443"


def make_breaker(**overrides: Any) -> Breaker:
    values: dict[str, Any] = {
        "failures": 3,
        "cooldown_s": 10.0,
        "max_cooldown_s": 40.0,
        "probe_timeout_s": 60.0,
    }
    return Breaker(**(values | overrides))


def opened(breaker: Breaker, at: float = 3.0) -> float:
    reopen = None
    for _ in range(breaker.failures):
        reopen = breaker.failed(A, at)
    assert reopen is not None
    return reopen


def test_a_closed_circuit_sends_and_opens_after_the_failures_in_a_row() -> None:
    breaker = make_breaker()
    assert breaker.admit(A, 0.0) is Admission.SEND
    assert breaker.failed(A, 1.0) is None
    assert breaker.failed(A, 2.0) is None
    assert breaker.failed(A, 3.0) == 13.0  # the third in a row opens it for the cool-down

    assert breaker.state(A) is State.OPEN
    assert breaker.admit(A, 5.0) is Admission.HOLD
    assert breaker.held_until(A, 5.0) == 13.0
    assert breaker.limits(5.0) == {A: 0}
    assert breaker.open_count() == 1
    assert breaker.admit(B, 5.0) is Admission.SEND  # other endpoints are not affected


def test_a_success_in_between_resets_the_count_of_failures() -> None:
    breaker = make_breaker()
    breaker.failed(A, 1.0)
    breaker.failed(A, 2.0)
    breaker.succeeded(A)
    assert breaker.failed(A, 3.0) is None
    assert breaker.failed(A, 4.0) is None
    assert breaker.state(A) is State.CLOSED


def test_after_the_cool_down_one_probe_goes_and_its_success_closes_the_circuit() -> None:
    breaker = make_breaker()
    reopen = opened(breaker)
    assert breaker.limits(reopen) == {A: 1}  # a claim may take one delivery: the probe
    assert breaker.admit(A, reopen) is Admission.PROBE
    assert breaker.state(A) is State.HALF_OPEN
    assert breaker.admit(A, reopen + 1) is Admission.HOLD  # one probe at a time
    assert breaker.limits(reopen + 1) == {A: 0}
    assert breaker.held_until(A, reopen + 1) is None  # new deliveries are due now

    assert breaker.succeeded(A) is True
    assert breaker.state(A) is State.CLOSED
    assert breaker.open_count() == 0
    assert breaker.limits(reopen + 2) == {}
    assert breaker.admit(A, reopen + 2) is Admission.SEND


def test_a_failed_probe_reopens_for_twice_as_long_up_to_the_cap() -> None:
    breaker = make_breaker()
    reopen = opened(breaker, at=3.0)
    cooldowns = []
    for _ in range(4):
        assert breaker.admit(A, reopen) is Admission.PROBE
        again = breaker.failed(A, reopen)
        assert again is not None
        cooldowns.append(again - reopen)
        reopen = again
    assert cooldowns == [20.0, 40.0, 40.0, 40.0]

    assert breaker.admit(A, reopen) is Admission.PROBE
    breaker.succeeded(A)
    assert opened(breaker, at=500.0) == 510.0  # a success resets the cool-down


def test_late_failures_of_attempts_sent_before_the_opening_change_nothing() -> None:
    breaker = make_breaker()
    reopen = opened(breaker)
    assert breaker.failed(A, 4.0) is None
    assert breaker.held_until(A, 4.0) == reopen


def test_any_success_closes_even_while_open() -> None:
    breaker = make_breaker()
    opened(breaker)
    assert breaker.succeeded(A) is True
    assert breaker.admit(A, 4.0) is Admission.SEND


def test_a_probe_that_learned_nothing_lets_the_next_one_go() -> None:
    breaker = make_breaker()
    reopen = opened(breaker)
    assert breaker.admit(A, reopen) is Admission.PROBE
    breaker.released(A)
    assert breaker.limits(reopen + 1) == {A: 1}
    assert breaker.admit(A, reopen + 1) is Admission.PROBE


def test_a_lost_probe_is_replaced_after_the_probe_timeout() -> None:
    breaker = make_breaker(probe_timeout_s=60.0)
    reopen = opened(breaker)
    assert breaker.admit(A, reopen) is Admission.PROBE
    assert breaker.admit(A, reopen + 59) is Admission.HOLD
    assert breaker.admit(A, reopen + 60) is Admission.PROBE


def test_zero_failures_turns_the_breaker_off() -> None:
    breaker = make_breaker(failures=0)
    for second in range(100):
        assert breaker.failed(A, float(second)) is None
    assert breaker.admit(A, 100.0) is Admission.SEND


def test_the_cool_down_is_scaled_like_every_other_wait() -> None:
    settings = Settings(
        time_scale=0.01, breaker_failures=2, breaker_cooldown_s=30, breaker_max_cooldown_s=600
    )
    breaker = Breaker.from_settings(settings)
    breaker.failed(A, 0.0)
    assert breaker.failed(A, 0.0) == 0.3
    assert breaker.max_cooldown_s == 6.0


# the delivery engine, against a closed port and real receivers ------------------------
FAILURES = 3
CONCURRENCY = 2
COOLDOWN = 2.0  # seconds, as really waited
LONG_COOLDOWN = 60.0  # seconds, never waited to the end
TRIPS: dict[str, Any] = {
    "time_scale": 0.01,  # the default schedule spans 27.6 h; here 993 s
    "breaker_failures": FAILURES,
    "breaker_cooldown_s": COOLDOWN / 0.01,
    "delivery_endpoint_concurrency": CONCURRENCY,
}
FLOW: dict[str, Any] = {
    "name": "notify",
    "webhook_enabled": True,
    "entry": {"start": "end"},
    "widgets": {"end": {"type": "end"}},
}


def closed_port() -> int:
    """A port where nothing listens: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def backlog(
    account_id: str, url: str, count: int, *, age_s: float = 0.0, due_in: float = 0.0
) -> list[dict[str, Any]]:
    """``count`` PENDING deliveries to ``url`` as the outbox writes them, created ``age_s``
    ago and due in ``due_in`` seconds."""
    now = time.time()
    request = OutgoingRequest(
        "POST", url, {"Content-Type": "application/json"}, b'{"backlog": true}', 5.0
    )
    return [
        {
            "delivery_id": str(uuid.uuid4()),
            "account_id": account_id,
            "execution_uuid": None,
            "webhook_id": None,
            "endpoint": endpoint_of(url),
            "request": request,
            "secret_headers": None,
            "due_at": now + due_in,
            "lease_owner": None,
            "lease_until": None,
            "now": now - age_s,
        }
        for _ in range(count)
    ]


async def add(api: Any, *backlogs: list[dict[str, Any]]) -> list[list[str]]:
    """Commit the backlogs in one transaction; their ids, backlog by backlog."""

    def write(conn: Connection) -> None:
        for rows in backlogs:
            for row in rows:
                delivery_repo.insert(conn, **row)

    await api.runtime.store.write(write)
    api.runtime.deliveries.nudge()
    return [[row["delivery_id"] for row in rows] for rows in backlogs]


async def attempts_made(api: Any) -> int:
    def count(conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(delivery_attempts)).scalar_one())

    return int(await api.runtime.store.read(count))


async def rows(api: Any, ids: list[str]) -> dict[str, Any]:
    def read(conn: Connection) -> dict[str, Any]:
        found = conn.execute(select(deliveries).where(deliveries.c.id.in_(ids)))
        return {r.id: r for r in found}

    return dict(await api.runtime.store.read(read))


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def live_flow(api: Any, url: str) -> tuple[str, str]:
    """Another account whose flow-complete webhook goes to ``url``: (api key, flow id)."""
    _, key = await api.account("live", http_enabled=True)
    await api.request(
        "POST", "/v1/webhooks", key=key, json={"name": "d", "url": url, "is_default": True}
    )
    _, flow = await api.request("POST", "/v1/flows", key=key, json=FLOW)
    return key, flow["flow_id"]


@pytest.mark.slow
async def test_a_dead_endpoint_opens_its_circuit_and_is_not_attempted_during_the_cool_down(
    api_with: Any,
) -> None:
    dead_url = f"http://127.0.0.1:{closed_port()}/hook"
    endpoint = endpoint_of(dead_url)
    # a cool-down far longer than any wait below: what happens here happens during it
    long_cooldown = TRIPS | {"breaker_cooldown_s": LONG_COOLDOWN / 0.01}
    async with api_with(**long_cooldown) as api, receiver() as live:
        breaker = api.runtime.deliveries.breaker
        account_id, _ = await api.account(http_enabled=True)
        [ids] = await add(api, backlog(account_id, dead_url, 300))

        await until(lambda: breaker.state(endpoint) is State.OPEN)
        reopen = breaker.held_until(endpoint, time.time())
        assert reopen is not None
        key, flow_id = await live_flow(api, live.url)
        status, _ = await api.request(
            "POST", f"/v1/flows/{flow_id}/executions", key=key, json={"version": "test"}
        )
        assert status == 202
        await live.wait_for(1, timeout=LONG_COOLDOWN / 2)  # served while the other is down
        _, metrics = await api.request("GET", "/metrics")

        await asyncio.sleep(0.2)
        made_at_opening = await attempts_made(api) - 1  # the live delivery's attempt
        # the thing tested is that nothing happens for a while: a sleep, not an event
        await asyncio.sleep(COOLDOWN)
        made_in_cooldown = await attempts_made(api) - 1 - made_at_opening
        held = await rows(api, ids)
        in_cooldown = time.time() < reopen

    # the circuit opened after FAILURES attempts (plus those already sending)
    assert FAILURES <= made_at_opening <= FAILURES + CONCURRENCY
    assert in_cooldown and made_in_cooldown == 0
    assert "flowhook_endpoints_open 1.0" in metrics
    # every delivery waits, in the database, for the end of the cool-down, none lost
    assert {r.status for r in held.values()} == {"PENDING"}
    assert all(r.due_at >= reopen and r.lease_owner is None for r in held.values())
    unattempted = [r for r in held.values() if r.attempts == 0]
    assert len(unattempted) >= 300 - FAILURES - CONCURRENCY
    assert {r.last_error for r in unattempted} == {"CIRCUIT_OPEN"}


@pytest.mark.slow
async def test_when_the_receiver_comes_back_every_pending_delivery_arrives_once(
    api_with: Any,
) -> None:
    port = closed_port()
    dead_url = f"http://127.0.0.1:{port}/hook"
    endpoint = endpoint_of(dead_url)
    async with api_with(**TRIPS) as api:
        breaker = api.runtime.deliveries.breaker
        account_id, _ = await api.account(http_enabled=True)
        [ids] = await add(api, backlog(account_id, dead_url, 300))
        await until(lambda: breaker.state(endpoint) is State.OPEN)

        async with receiver(port=port) as back:  # up again during the cool-down
            await back.wait_for(300, timeout=COOLDOWN + 15)
            await until(lambda: not api.runtime.deliveries.in_flight)
            done = await rows(api, ids)
            _, metrics = await api.request("GET", "/metrics")

    assert breaker.state(endpoint) is State.CLOSED
    assert "flowhook_endpoints_open 0.0" in metrics
    assert {r.status for r in done.values()} == {"SUCCEEDED"}
    per_id = Counter(r.headers["webhook-id"] for r in back.received)
    assert set(per_id) == set(ids)
    assert set(per_id.values()) == {1}


async def test_deliveries_older_than_the_retry_schedule_are_dead_lettered_as_circuit_open(
    api_with: Any,
) -> None:
    dead_url = f"http://127.0.0.1:{closed_port()}/hook"
    endpoint = endpoint_of(dead_url)
    async with api_with(**TRIPS) as api:
        breaker = api.runtime.deliveries.breaker
        span = api.settings.scaled(sum(api.settings.delivery_schedule_s))
        account_id, key = await api.account(http_enabled=True)
        # the young ones are due first: they take the attempts that open the circuit
        young, old = await add(
            api,
            backlog(account_id, dead_url, 20, due_in=-10),
            backlog(account_id, dead_url, 10, age_s=span + 60),
        )
        await until(lambda: breaker.state(endpoint) is State.OPEN)
        await until(lambda: not api.runtime.deliveries.in_flight)
        await asyncio.sleep(0.2)
        done = await rows(api, young + old)
        _, shown = await api.request("GET", f"/v1/deliveries/{old[0]}", key=key)

    assert {done[i].status for i in old} == {"FAILED"}
    assert {done[i].last_error for i in old} == {"CIRCUIT_OPEN"}
    assert all(done[i].finished_at and done[i].due_at is None for i in old)
    assert {done[i].status for i in young} == {"PENDING"}  # their schedule still runs
    # the delivery log says why it was never sent
    assert shown["status"] == "FAILED" and shown["last_error"] == "CIRCUIT_OPEN"
    assert shown["attempts"] == []


async def test_a_slow_receivers_backlog_cannot_take_the_in_flight_budget(api_with: Any) -> None:
    async with (
        api_with(worker_concurrency=10, delivery_endpoint_concurrency=CONCURRENCY) as api,
        receiver() as slow,
        receiver() as fast,
    ):
        slow.hold = asyncio.Event()  # the slow receiver answers nothing until released
        account_id, _ = await api.account(http_enabled=True)
        await add(api, backlog(account_id, slow.url, 60))
        await slow.wait_for(CONCURRENCY)
        key, flow_id = await live_flow(api, fast.url)
        await api.request(
            "POST", f"/v1/flows/{flow_id}/executions", key=key, json={"version": "test"}
        )
        try:
            # arrives while the slow backlog cannot move at all: it did not queue behind it
            await fast.wait_for(1, timeout=30)
            sent_to_slow = len(slow.received)
            held = len(api.runtime.deliveries.in_flight)
        finally:
            slow.hold.set()

    # the slow receiver got no more than its endpoint's share at a time (attempts that
    # time out, after 5 s, make room for a second round), and the backlog held no more
    # than two rounds of its semaphore
    assert sent_to_slow <= 2 * CONCURRENCY
    assert held <= 2 * CONCURRENCY + 1
