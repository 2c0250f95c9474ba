"""Who is calling: the one decision of which address a request comes from, for everything
that judges it (the IP whitelist, its lock-out check, the outbound API, the console's
sign-in and pages). A top-level module so that the API and the console share it.

The peer of the TCP connection is the client, unless it is a proxy the operator trusts
(``FLOWHOOK_TRUSTED_PROXIES``). Only then is ``X-Forwarded-For`` read, from the right: each
trusted proxy appends the address it saw, so the right-most address that is not a trusted
proxy is the first one no trusted party vouches for — the client. Anything left of it was
written by the client itself and may be made up. uvicorn's own proxy-header handling is off
(``proxy_headers=False`` in cli.py): by default it believes the header from 127.0.0.1, which
let any local caller pick its address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=64)  # settings do not change while the process runs
def networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """The trusted proxies as networks (the settings validated every entry)."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted_proxies: Sequence[str]
) -> str | None:
    """The address the whitelist judges a request by: the connection's ``peer``, or what a
    trusted proxy (``Settings.trusted_proxies``) says it forwarded for."""
    if not trusted_proxies:
        return peer  # the default: no header is believed
    return client_host(peer, forwarded_for, networks(tuple(trusted_proxies)))


def client_host(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]
) -> str | None:
    """The client's address: ``peer`` unless a trusted proxy forwarded the request.

    ``forwarded_for`` holds the request's ``X-Forwarded-For`` header values in order. A
    value that is not an address ends the walk and is returned as is: it names no
    whitelisted address, so a garbled header cannot let anyone in."""
    if peer is None or not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    client = peer
    for hop in reversed(hops):
        if not hop:
            continue
        client = _address_part(hop)
        if not _trusted(client, trusted):
            return client
    return client  # every hop is a trusted proxy: the left-most one is the origin


def _trusted(host: str, trusted: Sequence[Network]) -> bool:
    ip = _parse(host)
    return ip is not None and any(ip in network for network in trusted)


def _parse(host: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return ip


def _address_part(hop: str) -> str:
    """``1.2.3.4:5678`` and ``[2001:db8::1]:80`` name the address only (some proxies add
    the port); any other text is kept."""
    if hop.startswith("["):
        inside, bracket, _ = hop[1:].partition("]")
        return inside if bracket else hop
    host, colon, port = hop.rpartition(":")
    if colon and "." in host and ":" not in host and port.isdigit():
        return host
    return hop
