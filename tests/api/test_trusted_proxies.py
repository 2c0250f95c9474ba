"""Which address the IP whitelist judges: the connection's peer, unless it is a proxy the
operator trusts (``FLOWHOOK_TRUSTED_PROXIES``); then the right-most address of
``X-Forwarded-For`` that is not a trusted proxy. Without a trusted proxy the header changes
nothing, on every endpoint that judges the caller's address.

Every request here goes to 127.0.0.1; the addresses in headers are only text."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowhook.forwarded import client_host, networks
from support.app import error_code
from support.flows import two_step_flow
from support.process import Process, create_account, flowhook_env, free_port

WHITELIST = ["10.9.9.0/24"]
INSIDE = "10.9.9.9"  # in the whitelist
OUTSIDE = "198.51.100.7"  # not in it (TEST-NET-2)

FLOW: dict[str, Any] = two_step_flow(variable="$flow.key.x", value="1")


def forwarded_for(value: str | None) -> dict[str, str]:
    return {"X-Forwarded-For": value} if value is not None else {}


async def whitelisted(api: Any) -> tuple[str, dict[str, Any]]:
    """An account whose whitelist is 10.9.9.0/24 (set by the operator) and one flow."""
    account_id, key = await api.account()
    status, flow = await api.request("POST", "/v1/flows", key=key, json=FLOW)
    assert status == 201, flow
    status, body = await api.request(
        "PATCH",
        f"/v1/operator/accounts/{account_id}",
        key="operator-secret",
        json={"ip_whitelist": WHITELIST},
    )
    assert status == 200, body
    return key, dict(flow)


async def verdicts(api: Any, key: str, flow: dict[str, Any], header: str | None) -> list[str]:
    """Call every endpoint that judges the caller's address; 'in' or 'out' for each."""
    headers = forwarded_for(header)
    out = []
    status, body = await api.request("GET", "/v1/flows", key=key, headers=headers)
    out.append(_verdict(status, body, 200))
    status, body = await api.request(  # the trigger's fast path (served ahead of Starlette)
        "POST",
        f"/v1/flows/{flow['flow_id']}/executions",
        key=key,
        json={"version": "test"},
        headers=headers,
    )
    out.append(_verdict(status, body, 202))
    status, body = await api.request(
        "POST",
        "/centraloutboundwebhook-v1/test/",
        key=key,
        json={"method": "shortURL", "variables": {"$flow.syskey.longUrl": "https://a.test/x"}},
        headers=headers,
    )
    out.append(_verdict(status, body, 200))
    status, body = await api.request(
        "POST",
        "/kairos-apis/outbound/create",
        data=json.dumps(
            {
                "api-version": "TEST",
                "security-id": flow["security_id"],
                "flow-id": flow["flow_id"],
                "calls": [{"client-identifier": "c-1", "contact-numbers": ["9876543210"]}],
            }
        ),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert status == 200, body
    code = body["api-response-code"]
    assert code in (200, 401), body
    out.append("in" if code == 200 else "out")
    return out


def _verdict(status: int, body: Any, ok: int) -> str:
    if status == 403:
        assert error_code(body) == "IP_NOT_WHITELISTED", body
        return "out"
    assert status == ok, body
    return "in"


async def lockout(api: Any, header: str | None) -> tuple[int, Any]:
    """An account without a whitelist asks for 10.9.9.0/24 for itself."""
    _, key = await api.account("self-service")
    answer: tuple[int, Any] = await api.request(
        "PUT",
        "/v1/account/settings",
        key=key,
        json={"ip_whitelist": WHITELIST},
        headers=forwarded_for(header),
    )
    return answer


# without a trusted proxy ----------------------------------------------------------------


async def test_without_a_trusted_proxy_x_forwarded_for_is_ignored_everywhere(api: Any) -> None:
    key, flow = await whitelisted(api)
    for header in (INSIDE, f"{OUTSIDE}, {INSIDE}", f"{INSIDE}, 127.0.0.1"):
        assert await verdicts(api, key, flow, header) == ["out"] * 4, header
        status, body = await lockout(api, header)
        assert status == 409 and error_code(body) == "WHITELIST_LOCKOUT", body
        assert body["error"]["details"] == {"address": "127.0.0.1"}


# with 127.0.0.1 trusted -----------------------------------------------------------------


async def test_from_a_trusted_proxy_the_forwarded_address_is_judged(api_with: Any) -> None:
    async with api_with(trusted_proxies=["127.0.0.1"]) as api:
        key, flow = await whitelisted(api)
        assert await verdicts(api, key, flow, INSIDE) == ["in"] * 4
        assert await verdicts(api, key, flow, OUTSIDE) == ["out"] * 4
        # no header: the proxy itself is the caller, and it is not whitelisted
        assert await verdicts(api, key, flow, None) == ["out"] * 4

        status, body = await lockout(api, INSIDE)
        assert status == 200 and body["ip_whitelist"] == WHITELIST, body
        status, body = await lockout(api, OUTSIDE)
        assert status == 409 and body["error"]["details"] == {"address": OUTSIDE}, body


async def test_a_client_cannot_pick_its_address_by_writing_the_header_itself(
    api_with: Any,
) -> None:
    """The trusted proxy appends the address it saw; what the client wrote is left of it."""
    async with api_with(trusted_proxies=["127.0.0.1"]) as api:
        key, flow = await whitelisted(api)
        spoofed = f"{INSIDE}, {OUTSIDE}"  # the client wrote INSIDE, the proxy saw OUTSIDE
        assert await verdicts(api, key, flow, spoofed) == ["out"] * 4
        status, body = await lockout(api, spoofed)
        assert status == 409 and body["error"]["details"] == {"address": OUTSIDE}, body

        # a chain of trusted proxies is walked through to the first untrusted address
        assert await verdicts(api, key, flow, f"{OUTSIDE}, {INSIDE}, 127.0.0.1") == ["in"] * 4


# through a real `flowhook serve` (the bug lived in its uvicorn configuration) -------------


async def _same_connection(base: str, key: str, header: str) -> tuple[int, int]:
    """The pid that answered and the status of GET /v1/flows, on one connection (so one
    process of ``--processes``)."""
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(f"{base}/healthz") as resp:
            pid = int((await resp.json())["pid"])
        async with session.get(
            f"{base}/v1/flows",
            headers={"Authorization": f"Bearer {key}", "X-Forwarded-For": header},
        ) as resp:
            return pid, resp.status


async def _serve(env: dict[str, str], port: int, log: Path, *args: str) -> Process:
    server = Process(["serve", "--host", "127.0.0.1", "--port", str(port), *args], env, log)
    await server.listening(port)
    return server


@pytest.mark.slow
async def test_flowhook_serve_believes_x_forwarded_for_only_from_trusted_proxies(
    tmp_path: Path,
) -> None:
    env = flowhook_env(f"sqlite:///{tmp_path}/serve.db", tmp_path, operator_token="operator-secret")
    account = create_account(env)
    key = account["api_key"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    # no trusted proxy (the default), two processes: neither believes the header
    server = await _serve(env, port, tmp_path / "serve.log", "--processes", "2")
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.patch(
                f"{base}/v1/operator/accounts/{account['account_id']}",
                headers={"Authorization": "Bearer operator-secret"},
                json={"ip_whitelist": WHITELIST},
            ) as resp,
        ):
            assert resp.status == 200, await resp.text()
        seen: dict[int, set[int]] = {}
        deadline = time.monotonic() + 30
        while len(seen) < 2 and time.monotonic() < deadline:
            pid, status = await _same_connection(base, key, INSIDE)
            seen.setdefault(pid, set()).add(status)
            await asyncio.sleep(0.02)
        assert len(seen) == 2, (seen, server.output())
        assert all(statuses == {403} for statuses in seen.values()), seen
    finally:
        server.stop()

    # 127.0.0.1 trusted through the environment: the forwarded address is judged (another
    # port: a copy of the first server may still be finishing on the old one)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    trusting = {**env, "FLOWHOOK_TRUSTED_PROXIES": "127.0.0.1/32, ::1"}
    server = await _serve(trusting, port, tmp_path / "serve-trusting.log")
    try:
        assert (await _same_connection(base, key, INSIDE))[1] == 200
        assert (await _same_connection(base, key, f"{INSIDE}, {OUTSIDE}"))[1] == 403
    finally:
        server.stop()


# the decision itself ----------------------------------------------------------------------

TRUSTED = networks(("127.0.0.1/32", "10.0.0.0/8"))


def test_the_peer_is_the_client_unless_it_is_trusted() -> None:
    assert client_host("192.0.2.1", [INSIDE], TRUSTED) == "192.0.2.1"
    assert client_host("127.0.0.1", [INSIDE], ()) == "127.0.0.1"
    assert client_host("127.0.0.1", [], TRUSTED) == "127.0.0.1"
    assert client_host(None, [INSIDE], TRUSTED) is None


def test_every_header_line_counts_and_ports_are_dropped() -> None:
    assert client_host("127.0.0.1", [OUTSIDE, "192.0.2.5:4711"], TRUSTED) == "192.0.2.5"
    assert client_host("127.0.0.1", ["[2001:db8::1]:80, 10.1.1.1"], TRUSTED) == "2001:db8::1"
    assert client_host("::ffff:127.0.0.1", [OUTSIDE], TRUSTED) == OUTSIDE


def test_garbage_in_the_header_is_what_gets_judged_and_it_matches_no_whitelist() -> None:
    assert client_host("127.0.0.1", [f"{INSIDE}, unknown"], TRUSTED) == "unknown"


untrusted_ips = st.ip_addresses(v=4).filter(
    lambda ip: not any(ip in network for network in TRUSTED)
)
trusted_ips = st.ip_addresses(v=4, network="10.0.0.0/8") | st.just(
    ipaddress.IPv4Address("127.0.0.1")
)


@given(
    written=st.lists(st.ip_addresses(v=4) | st.text(max_size=20), max_size=4),
    client=untrusted_ips,
    proxies=st.lists(trusted_ips, max_size=3),
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_whatever_the_client_writes_the_address_the_first_trusted_proxy_saw_wins(
    written: list[Any], client: Any, proxies: list[Any]
) -> None:
    hops = [str(h).replace(",", "") for h in written] + [str(client)] + [str(p) for p in proxies]
    assert client_host("127.0.0.1", [", ".join(hops)], TRUSTED) == str(client)


@pytest.mark.parametrize("header", ["", " , ", ","])
def test_an_empty_header_leaves_the_proxy_as_the_caller(header: str) -> None:
    assert client_host("127.0.0.1", [header], TRUSTED) == "127.0.0.1"
