"""The guard: which URLs and resolved addresses an outgoing call may reach (no I/O here;
the client tests prove the same rules against a real local server)."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import given
from hypothesis import strategies as st

from flowhook.domain.message import ErrorReason
from flowhook.errors import FlowhookError
from flowhook.webhooks.guard import (
    BlockedRequest,
    BlockedResolution,
    check_url,
    is_public_address,
)
from flowhook.webhooks.resolver import GuardedResolver


class FakeResolver(AbstractResolver):
    """Answers from a table instead of DNS; each look-up may give a different answer."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.calls = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls += 1
        answers = self.table.get(host)
        if not answers:
            raise OSError(socket.EAI_NONAME, f"{host} not found")
        addresses = answers[0] if len(answers) == 1 else answers.pop(0)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=0,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        return None


def reason_of(url: str, *, http_enabled: bool = True, allow_private: bool = False) -> ErrorReason:
    with pytest.raises(BlockedRequest) as caught:
        check_url(url, http_enabled=http_enabled, allow_private=allow_private)
    return caught.value.reason


# check_url --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/hook",
        "https://8.8.8.8/x",
        "https://[2606:4700:4700::1111]/x",
        "https://user:pw@example.com:8443/a?b=c",
    ],
)
def test_public_https_urls_pass(url: str) -> None:
    check_url(url, http_enabled=False, allow_private=False)


def test_http_needs_the_account_to_enable_it() -> None:
    assert reason_of("http://example.com/", http_enabled=False) is ErrorReason.HTTP_DISABLED
    check_url("http://example.com/", http_enabled=True, allow_private=False)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/f", "file:///etc/passwd", "gopher://x/", "http:///path", "example.com"],
)
def test_only_http_urls_with_a_host_are_valid(url: str) -> None:
    assert reason_of(url) is ErrorReason.INVALID_URL


def test_a_broken_port_is_an_invalid_url() -> None:
    assert reason_of("https://example.com:99999/") is ErrorReason.INVALID_URL


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "[::1]",
        "[::]",
        "[fe80::1]",
        "[fc00::1]",
        "[fec0::1]",
        "[ff02::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:10.0.0.1]",
        "[2002:7f00:1::]",
        "[64:ff9b::7f00:1]",
        "[fd00:ec2::254]",
    ],
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_private_and_reserved_ip_literals_are_blocked(host: str) -> None:
    assert reason_of(f"https://{host}/x") is ErrorReason.BLOCKED_ADDRESS


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "127.1", "0177.0.0.1"])
def test_legacy_numeric_ipv4_forms_are_refused(host: str) -> None:
    assert reason_of(f"https://{host}/") is ErrorReason.INVALID_URL


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "app.localhost"])
def test_localhost_names_are_blocked_without_a_lookup(host: str) -> None:
    assert reason_of(f"https://{host}/") is ErrorReason.BLOCKED_ADDRESS


def test_allow_private_opens_local_addresses() -> None:
    for url in ("http://127.0.0.1:8080/", "http://[::1]/", "http://10.0.0.5/", "http://localhost/"):
        check_url(url, http_enabled=True, allow_private=True)


@pytest.mark.parametrize("host", ["169.254.169.254", "[fd00:ec2::254]", "[::ffff:169.254.169.254]"])
def test_cloud_metadata_stays_blocked_even_when_private_targets_are_allowed(host: str) -> None:
    reason = reason_of(f"http://{host}/latest/meta-data/", allow_private=True)
    assert reason is ErrorReason.BLOCKED_ADDRESS


def test_blocked_request_is_a_flowhook_error_with_its_reason() -> None:
    with pytest.raises(FlowhookError) as caught:
        check_url("https://10.0.0.1/", http_enabled=True, allow_private=False)
    assert caught.value.details == {"reason": "BLOCKED_ADDRESS"}


@given(st.ip_addresses(network="10.0.0.0/8") | st.ip_addresses(network="127.0.0.0/8"))
def test_any_private_ipv4_literal_is_blocked(ip: ipaddress.IPv4Address) -> None:
    assert not is_public_address(ip)
    assert reason_of(f"https://{ip}/") is ErrorReason.BLOCKED_ADDRESS


@given(st.ip_addresses(v=6, network="fc00::/7") | st.ip_addresses(v=6, network="fe80::/10"))
def test_any_private_ipv6_literal_is_blocked(ip: ipaddress.IPv6Address) -> None:
    assert reason_of(f"https://[{ip}]/") is ErrorReason.BLOCKED_ADDRESS


# GuardedResolver --------------------------------------------------------------------------


async def test_a_name_resolving_to_loopback_is_blocked() -> None:
    resolver = GuardedResolver(FakeResolver({"evil.test": [["127.0.0.1"]]}))
    with pytest.raises(BlockedResolution) as caught:
        await resolver.resolve("evil.test", 443)
    assert caught.value.blocked.reason is ErrorReason.BLOCKED_ADDRESS
    assert isinstance(caught.value, OSError)  # what aiohttp's connector expects


async def test_private_answers_are_dropped_and_public_ones_kept() -> None:
    inner = FakeResolver({"mixed.test": [["127.0.0.1", "93.184.216.34", "10.0.0.1", "::1"]]})
    results = await GuardedResolver(inner).resolve("mixed.test", 443)
    assert [r["host"] for r in results] == ["93.184.216.34"]


async def test_allow_private_keeps_local_answers_but_never_metadata() -> None:
    inner = FakeResolver({"dev.test": [["127.0.0.1", "169.254.169.254"]]})
    results = await GuardedResolver(inner, allow_private=True).resolve("dev.test", 80)
    assert [r["host"] for r in results] == ["127.0.0.1"]


async def test_dns_rebinding_is_checked_on_every_lookup() -> None:
    inner = FakeResolver({"rebind.test": [["93.184.216.34"], ["127.0.0.1"]]})
    resolver = GuardedResolver(inner)
    first = await resolver.resolve("rebind.test", 443)
    assert [r["host"] for r in first] == ["93.184.216.34"]
    with pytest.raises(BlockedResolution):
        await resolver.resolve("rebind.test", 443)
    assert inner.calls == 2


async def test_lookup_failures_pass_through_as_os_errors() -> None:
    with pytest.raises(OSError) as caught:
        await GuardedResolver(FakeResolver({})).resolve("nowhere.test", 443)
    assert not isinstance(caught.value, BlockedResolution)
