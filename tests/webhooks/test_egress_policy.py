"""The operator's egress policy (``FLOWHOOK_EGRESS_ALLOW`` / ``FLOWHOOK_EGRESS_DENY``):
where outgoing calls may go, on top of the SSRF rules. Deny wins over allow, a non-empty
allow list lets only its targets through, and a refused target gets ``EGRESS_DENIED``
before any connection is made.

Every socket here is on 127.0.0.0/8; 192.0.2.1 (TEST-NET) only appears in URLs that the
guard refuses without a connection (pure ``check_url`` calls)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from test_client import MapResolver
from test_guard import FakeResolver
from test_webhook_widget_flow import run_flow, webhook_flow

from flowhook.domain.message import ErrorReason, OutgoingRequest
from flowhook.settings import Settings
from flowhook.webhooks.client import HttpClient
from flowhook.webhooks.guard import (
    BlockedRequest,
    BlockedResolution,
    EgressPolicy,
    check_url,
)
from flowhook.webhooks.resolver import GuardedResolver
from support.flows import delivery_of
from support.receiver import receiver

LOOPBACK = ["127.0.0.0/8", "::1"]


def reason_of(url: str, policy: EgressPolicy, *, allow_private: bool = True) -> ErrorReason | None:
    try:
        check_url(url, http_enabled=True, allow_private=allow_private, policy=policy)
    except BlockedRequest as exc:
        return exc.reason
    return None


# a listener that counts connections ---------------------------------------------------------


@dataclass
class Listener:
    """A bare TCP server on a loopback address: counts every connection it accepts and
    answers one HTTP 200. Proves whether anything connected at all."""

    host: str
    port: int = 0
    connections: list[str] = field(default_factory=list)

    def url(self, host: str | None = None, path: str = "/hook") -> str:
        return f"http://{host or self.host}:{self.port}{path}"


@asynccontextmanager
async def listener(host: str = "127.0.0.2") -> AsyncIterator[Listener]:
    found = Listener(host)

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        found.connections.append(str(writer.get_extra_info("peername")))
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client gave up: it connected all the same, which is what is counted
        finally:
            writer.close()

    server = await asyncio.start_server(accept, host, 0)
    found.port = server.sockets[0].getsockname()[1]
    try:
        yield found
    finally:
        server.close()
        await server.wait_closed()


async def send(settings: Settings, url: str, table: dict[str, str] | None = None) -> Any:
    http = HttpClient(settings, resolver=MapResolver(table or {}))
    try:
        return await http.send(OutgoingRequest("POST", url, body=b"{}"), http_enabled=True)
    finally:
        await http.close()


def policy_settings(**values: Any) -> Settings:
    return Settings(allow_private_targets=True, **values)


# through the client: refused before connecting ---------------------------------------------


async def test_a_name_resolving_outside_the_allow_list_is_refused_before_connecting() -> None:
    async with listener("127.0.0.2") as target:
        settings = policy_settings(egress_allow=["127.0.0.1/32"])
        result = await send(settings, target.url("hooks.test"), {"hooks.test": "127.0.0.2"})
        assert (result.status, result.error_reason) == (None, ErrorReason.EGRESS_DENIED)
        assert "egress policy" in (result.error_message or "")
        assert target.connections == []

        # the same call with the address allowed reaches the listener: it would have seen one
        allowed = policy_settings(egress_allow=["127.0.0.0/8"])
        result = await send(allowed, target.url("hooks.test"), {"hooks.test": "127.0.0.2"})
        assert result.ok, result
        assert len(target.connections) == 1


async def test_an_address_literal_outside_the_allow_list_is_refused_before_connecting() -> None:
    async with listener("127.0.0.2") as target:
        result = await send(policy_settings(egress_allow=["127.0.0.1/32"]), target.url())
        assert (result.status, result.error_reason) == (None, ErrorReason.EGRESS_DENIED)
        assert target.connections == []


async def test_deny_wins_over_allow() -> None:
    settings = policy_settings(egress_allow=["127.0.0.0/8"], egress_deny=["127.0.0.2"])
    async with listener("127.0.0.2") as denied, listener("127.0.0.1") as allowed:
        result = await send(settings, denied.url())
        assert result.error_reason is ErrorReason.EGRESS_DENIED
        result = await send(settings, denied.url("hooks.test"), {"hooks.test": "127.0.0.2"})
        assert result.error_reason is ErrorReason.EGRESS_DENIED
        assert (await send(settings, allowed.url())).ok
        assert denied.connections == [] and len(allowed.connections) == 1

        # a denied name is refused even though its address is allowed
        by_name = policy_settings(egress_allow=["127.0.0.0/8"], egress_deny=[".blocked.test"])
        result = await send(
            by_name, allowed.url("api.blocked.test"), {"api.blocked.test": "127.0.0.1"}
        )
        assert result.error_reason is ErrorReason.EGRESS_DENIED
        assert len(allowed.connections) == 1


async def test_a_redirect_to_a_refused_target_is_not_followed() -> None:
    settings = policy_settings(egress_allow=["127.0.0.1/32"])
    async with listener("127.0.0.2") as target, receiver() as rec:
        rec.default = (302, "", {"Location": target.url()})
        http = HttpClient(settings)
        try:
            result = await http.send(
                OutgoingRequest("GET", rec.url), http_enabled=True, follow_redirects=True
            )
        finally:
            await http.close()
    assert (result.status, result.error_reason) == (None, ErrorReason.EGRESS_DENIED)
    assert len(rec.received) == 1 and target.connections == []


# through a running server: webhook widget, check, deliveries ----------------------------------


async def test_an_allowed_loopback_receiver_gets_the_delivery(api_with: Any) -> None:
    flow = {
        "name": "notify",
        "type": "outbound",
        "webhook_enabled": True,
        "entry": {"start": "end"},
        "widgets": {"end": {"type": "end"}},
    }
    async with api_with(egress_allow=["127.0.0.0/8"], allow_private_targets=True) as api:
        _, key = await api.account(http_enabled=True)
        async with receiver() as rec:
            status, body = await api.request(
                "POST",
                "/v1/webhooks",
                key=key,
                json={"name": "default", "url": rec.url, "is_default": True},
            )
            assert status == 201, body
            status, created = await api.request("POST", "/v1/flows", key=key, json=flow)
            assert status == 201, created
            status, started = await api.request(
                "POST",
                f"/v1/flows/{created['flow_id']}/executions",
                key=key,
                json={"version": "test"},
            )
            assert status == 202, started
            [got] = await rec.wait_for(1)
        assert got.json()["phonon-uuid"] == started["uuid"]


async def test_the_widget_check_and_deliveries_are_refused_with_egress_denied(
    api_with: Any,
) -> None:
    async with (
        listener("127.0.0.2") as target,
        api_with(
            egress_allow=["127.0.0.0/8"],
            egress_deny=["127.0.0.2/32"],
            delivery_schedule_s=[0, 0.05, 0.05],
        ) as api,
    ):
        _, key = await api.account(http_enabled=True)
        widget = {"webhook": "custom", "request": {"url": target.url()}}
        execution = await run_flow(api, key, webhook_flow(widget))
        assert execution["variables"]["$flow.key.error_reason"] == "EGRESS_DENIED"
        assert execution["variables"]["$flow.key.path"] == "failure"

        status, checked = await api.request(
            "POST", "/v1/webhooks/check", key=key, json={"url": target.url()}
        )
        assert status == 200 and checked["error_reason"] == "EGRESS_DENIED", checked

        # a flow-complete delivery fails at once (a policy does not fix itself)
        status, body = await api.request(
            "POST",
            "/v1/webhooks",
            key=key,
            json={"name": "default", "url": target.url(), "is_default": True},
        )
        assert status == 201, body
        flow = {
            **webhook_flow({"webhook": "nope"}),
            "name": "call_default",
            "webhook_enabled": True,
        }
        finished = await run_flow(api, key, flow)
        delivery = await delivery_of(api, key, finished["uuid"], "FAILED")
        assert [a["error_reason"] for a in delivery["attempts"]] == ["EGRESS_DENIED"]
    assert target.connections == []


# the rules themselves (no I/O) ----------------------------------------------------------------


def test_an_address_literal_outside_the_allow_list_is_refused_without_a_connection() -> None:
    policy = EgressPolicy.parse(allow=LOOPBACK)
    assert reason_of("http://192.0.2.1/hook", policy) is ErrorReason.EGRESS_DENIED
    assert reason_of("http://[2001:db8::1]/hook", policy) is ErrorReason.EGRESS_DENIED
    assert reason_of("http://127.0.0.1:8080/hook", policy) is None
    assert reason_of("http://[::1]/hook", policy) is None
    assert reason_of("http://[::ffff:127.0.0.1]/hook", policy) is None  # reaches 127.0.0.1
    # a 6to4 address carries 127.0.0.1 but is routed elsewhere: not loopback
    assert reason_of("http://[2002:7f00:1::]/hook", policy) is ErrorReason.EGRESS_DENIED


def test_without_lists_there_is_no_policy() -> None:
    assert EgressPolicy.parse().open
    assert reason_of("https://hooks.example.com/", EgressPolicy.parse()) is None
    assert reason_of("http://192.0.2.1/hook", EgressPolicy.parse()) is None
    # deny only: everything else stays allowed
    policy = EgressPolicy.parse(deny=["192.0.2.0/24"])
    assert reason_of("http://192.0.2.1/hook", policy) is ErrorReason.EGRESS_DENIED
    assert reason_of("http://198.51.100.1/hook", policy) is None


def test_the_ssrf_rules_come_first_and_keep_their_code() -> None:
    policy = EgressPolicy.parse(allow=["10.0.0.0/8"], deny=["169.254.0.0/16"])
    assert reason_of("http://10.1.2.3/", policy, allow_private=False) is ErrorReason.BLOCKED_ADDRESS
    assert reason_of("http://169.254.169.254/", policy) is ErrorReason.BLOCKED_ADDRESS
    assert reason_of("http://10.1.2.3/", policy) is None


@pytest.mark.parametrize(
    ("entry", "host", "matches"),
    [
        ("hooks.example.com", "hooks.example.com", True),
        ("hooks.example.com", "HOOKS.Example.COM.", True),
        ("hooks.example.com", "a.hooks.example.com", False),
        (".example.com", "example.com", True),
        (".example.com", "a.b.example.com", True),
        (".example.com", "badexample.com", False),
        (".example.com", "example.com.evil.test", False),
    ],
)
def test_host_names_match_exactly_or_as_a_dotted_suffix(
    entry: str, host: str, matches: bool
) -> None:
    policy = EgressPolicy.parse(deny=[entry])
    expected = ErrorReason.EGRESS_DENIED if matches else None
    assert reason_of(f"https://{host}/", policy) is expected
    allowed = EgressPolicy.parse(allow=[entry])
    assert reason_of(f"https://{host}/", allowed) is (
        None if matches else ErrorReason.EGRESS_DENIED
    )


async def test_a_name_refused_by_name_is_never_looked_up() -> None:
    inner = FakeResolver({"other.test": [["127.0.0.1"]], "x.denied.test": [["127.0.0.1"]]})
    only_names = EgressPolicy.parse(allow=["hooks.test"])
    resolver = GuardedResolver(inner, allow_private=True, policy=only_names)
    with pytest.raises(BlockedResolution) as caught:
        await resolver.resolve("other.test", 80)
    assert caught.value.blocked.reason is ErrorReason.EGRESS_DENIED
    denied = EgressPolicy.parse(deny=[".denied.test"])
    with pytest.raises(BlockedResolution):
        await GuardedResolver(inner, allow_private=True, policy=denied).resolve("x.denied.test")
    assert inner.calls == 0


async def test_every_resolved_address_is_judged_and_only_allowed_ones_are_used() -> None:
    inner = FakeResolver(
        {"mixed.test": [["127.0.0.1", "127.0.0.2", "10.0.0.1", "::1"]], "far.test": [["10.0.0.1"]]}
    )
    policy = EgressPolicy.parse(allow=LOOPBACK, deny=["127.0.0.2"])
    resolver = GuardedResolver(inner, allow_private=True, policy=policy)
    results = await resolver.resolve("mixed.test", 80)
    assert [r["host"] for r in results] == ["127.0.0.1", "::1"]
    with pytest.raises(BlockedResolution) as caught:
        await resolver.resolve("far.test", 80)
    assert caught.value.blocked.reason is ErrorReason.EGRESS_DENIED
    # a name the allow list names may use its addresses, unless a deny network holds them
    by_name = GuardedResolver(
        inner, allow_private=True, policy=EgressPolicy.parse(allow=["mixed.test"], deny=["::1"])
    )
    assert [r["host"] for r in await by_name.resolve("mixed.test", 80)] == [
        "127.0.0.1",
        "127.0.0.2",
        "10.0.0.1",
    ]


def test_a_deny_network_holds_an_address_in_any_form() -> None:
    policy = EgressPolicy.parse(deny=["127.0.0.2/32"])
    for host in ("127.0.0.2", "[::ffff:127.0.0.2]", "[2002:7f00:2::]", "[64:ff9b::7f00:2]"):
        assert reason_of(f"http://{host}/", policy) is ErrorReason.EGRESS_DENIED, host


@pytest.mark.slow
@given(st.ip_addresses(v=4).filter(lambda ip: ip not in ipaddress.ip_network("127.0.0.0/8")))
def test_with_a_loopback_allow_list_no_other_ipv4_literal_passes(
    ip: ipaddress.IPv4Address,
) -> None:
    policy = EgressPolicy.parse(allow=LOOPBACK)
    assert reason_of(f"http://{ip}/", policy) in (
        ErrorReason.EGRESS_DENIED,
        ErrorReason.BLOCKED_ADDRESS,  # metadata endpoints, refused by the SSRF rules first
    )


@pytest.mark.slow
@given(st.ip_addresses(v=6).filter(lambda ip: ip != ipaddress.IPv6Address("::1")))
def test_with_a_loopback_allow_list_no_other_ipv6_literal_passes(
    ip: ipaddress.IPv6Address,
) -> None:
    if ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback:
        return  # ::ffff:127.x.y.z is an IPv4 loopback address
    policy = EgressPolicy.parse(allow=LOOPBACK)
    assert reason_of(f"http://[{ip}]/", policy) is not None


# settings -------------------------------------------------------------------------------------


def test_the_lists_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWHOOK_EGRESS_ALLOW", "127.0.0.0/8, ::1 .Example.COM.")
    monkeypatch.setenv("FLOWHOOK_EGRESS_DENY", '["127.0.0.2"]')
    settings = Settings()
    assert settings.egress_allow == ["127.0.0.0/8", "::1", ".example.com"]
    assert settings.egress_deny == ["127.0.0.2"]
    monkeypatch.setenv("FLOWHOOK_EGRESS_ALLOW", "")
    assert Settings().egress_allow == []


@pytest.mark.parametrize("entry", ["http://example.com", "10.0.0.0/33", "*.example.com", "a b"])
def test_an_entry_that_is_neither_a_network_nor_a_name_stops_the_start(entry: str) -> None:
    with pytest.raises(ValidationError):
        Settings(egress_deny=[entry])
