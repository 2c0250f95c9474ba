"""Rules every outgoing call obeys, whoever builds it: HTTPS unless the account enabled HTTP,
no request to our own network (SSRF), and the operator's egress policy
(``FLOWHOOK_EGRESS_ALLOW`` / ``FLOWHOOK_EGRESS_DENY``, :class:`EgressPolicy`).

Two layers, because a URL alone cannot tell where a name points:

* ``check_url`` looks at the URL before anything is sent (scheme, host, IP literals). The
  client calls it for the first request and again for every redirect hop.
* ``GuardedResolver`` (``resolver.py``) is how the client's connections (``wire.py``)
  resolve names: it filters what DNS returns with the rules of this module, so a name
  pointing at ``127.0.0.1`` is refused too. The client connects to exactly the addresses
  the resolver handed back, so a name that
  changes its answer between two look-ups (DNS rebinding) is checked on every look-up and
  cannot slip a private address past the guard.

The egress policy is judged in both layers after the SSRF rules (so a private address keeps
its ``BLOCKED_ADDRESS``): names by ``check_url`` before any look-up, addresses (literals by
``check_url``, resolved ones by the resolver) before any connection. A refusal has the
reason ``EGRESS_DENIED``.

This module is plain Python (no aiohttp): what decides stays importable, and testable,
without the HTTP stack, which only the client loads, on its first call.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from yarl import URL

from flowhook.domain.message import ErrorReason
from flowhook.errors import Code, FlowhookError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA_ADDRESSES: Final[frozenset[IPAddress]] = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, …
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
"""Cloud instance-metadata endpoints: blocked even when private targets are allowed."""

_LOCAL_NAMES: Final = ("localhost", "localhost.localdomain")
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


class BlockedRequest(FlowhookError):
    """An outgoing call the guard refused before (or instead of) connecting."""

    code = Code.BLOCKED_REQUEST

    def __init__(self, reason: ErrorReason, message: str) -> None:
        super().__init__(message, details={"reason": reason.value})
        self.reason = reason


class BlockedResolution(OSError):
    """Raised by ``GuardedResolver`` (``resolver.py``): an ``OSError``, as aiohttp's resolver
    interface expects of a failed look-up; the transport reports the refusal it carries."""

    def __init__(self, blocked: BlockedRequest) -> None:
        super().__init__(blocked.message)
        self.blocked = blocked


@dataclass(frozen=True)
class _Targets:
    """One list of the policy: networks, exact host names, and domains (``.example.com``:
    the domain and every name under it)."""

    networks: tuple[Network, ...] = ()
    names: frozenset[str] = frozenset()
    domains: tuple[str, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> _Targets:
        networks: list[Network] = []
        names: set[str] = set()
        domains: list[str] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = _name(entry)
            if name.startswith("."):
                domains.append(name[1:])
            else:
                names.add(name)
        return cls(tuple(networks), frozenset(names), tuple(domains))

    def __bool__(self) -> bool:
        return bool(self.networks or self.names or self.domains)

    def has_name(self, name: str) -> bool:
        return name in self.names or any(
            name == domain or name.endswith("." + domain) for domain in self.domains
        )


@dataclass(frozen=True)
class EgressPolicy:
    """The operator's list of where outgoing calls may go, on top of the SSRF rules.

    Deny wins over allow; a non-empty allow list lets only its targets through. A name
    matches a host name entry exactly, or a ``.example.com`` entry as that domain or a
    name under it. Networks are matched against the address of an IP literal and against
    every address a name resolves to: an address that fails is never connected to. A name
    the allow list names allows all its addresses (unless a deny network holds them)."""

    allow: _Targets = _Targets()
    deny: _Targets = _Targets()
    open: bool = field(init=False)
    """No lists at all: every check passes at once (the hot path when no policy is set)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "open", not (self.allow or self.deny))

    @classmethod
    def parse(cls, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> EgressPolicy:
        return cls(_Targets.parse(allow), _Targets.parse(deny))

    def name_refused(self, name: str) -> bool:
        """Refused by its name alone (before any look-up): denied, or an allow list that
        names no network cannot let it through."""
        if self.open:
            return False
        name = _name(name)
        if self.deny.has_name(name):
            return True
        return bool(self.allow) and not self.allow.networks and not self.allow.has_name(name)

    def address_allowed(self, ip: IPAddress, *, name: str | None = None) -> bool:
        """Whether a call may connect to ``ip`` (reached through the host ``name``)."""
        if self.open:
            return True
        if any(form in network for form in _forms(ip) for network in self.deny.networks):
            return False
        if not self.allow or (name is not None and self.allow.has_name(_name(name))):
            return True
        # the address the kernel connects to: itself, or the IPv4 address it maps
        reached = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        return any(ip in n or (reached is not None and reached in n) for n in self.allow.networks)


OPEN: Final = EgressPolicy()
"""No egress policy: the SSRF rules alone."""


def is_metadata_address(ip: IPAddress) -> bool:
    return _unmapped(ip) in METADATA_ADDRESSES


def is_public_address(ip: IPAddress) -> bool:
    """True for an address on the public internet (global unicast)."""
    ip = _unmapped(ip)
    if ip in METADATA_ADDRESSES:
        return False
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
        or not ip.is_global  # shared address space 100.64/10, documentation ranges, …
    )


def address_allowed(ip: IPAddress, *, allow_private: bool) -> bool:
    """Whether a call may go to ``ip``; metadata endpoints are never allowed."""
    if is_metadata_address(ip):
        return False
    return allow_private or is_public_address(ip)


def check_url(
    url: str | URL, *, http_enabled: bool, allow_private: bool, policy: EgressPolicy = OPEN
) -> None:
    """Refuse a URL we must not call; raise ``BlockedRequest`` with the reason."""
    parsed = url if isinstance(url, URL) else parse_url(url)
    scheme = parsed.scheme.lower()
    if scheme not in ("http", "https"):
        raise BlockedRequest(
            ErrorReason.INVALID_URL, f"only http and https URLs can be called, not {url!s:.200}"
        )
    host = parsed.raw_host
    if not host:
        raise BlockedRequest(ErrorReason.INVALID_URL, f"URL has no host: {url!s:.200}")
    if scheme == "http" and not http_enabled:
        raise BlockedRequest(
            ErrorReason.HTTP_DISABLED, "plain http is disabled for this account; use https"
        )
    check_host(host, allow_private=allow_private, policy=policy)


def check_host(host: str, *, allow_private: bool, policy: EgressPolicy = OPEN) -> None:
    """The rules of ``check_url`` for a host alone: a URL's, or the host:port a channel
    adapter connects to without HTTP (an SMSC over SMPP). Names are judged without a
    look-up; what they resolve to is judged when connecting (``resolver.py``,
    ``channels/egress.py``)."""
    ip = ip_literal(host)
    if ip is None:
        if _is_legacy_ipv4(host):
            raise BlockedRequest(ErrorReason.INVALID_URL, f"{host} is not a canonical IPv4 address")
        name = host.rstrip(".").lower()
        if not allow_private and (name in _LOCAL_NAMES or name.endswith(".localhost")):
            raise BlockedRequest(ErrorReason.BLOCKED_ADDRESS, f"{host} is a local address")
        if policy.name_refused(name):
            raise egress_denied(host)
        return
    if not address_allowed(ip, allow_private=allow_private):
        raise blocked_address(host)
    if not policy.address_allowed(ip):
        raise egress_denied(host)


def blocked_address(host: str) -> BlockedRequest:
    return BlockedRequest(
        ErrorReason.BLOCKED_ADDRESS,
        f"{host} is a private, local or reserved address; calls to it are not allowed",
    )


def egress_denied(host: str) -> BlockedRequest:
    return BlockedRequest(
        ErrorReason.EGRESS_DENIED,
        f"{host} is not allowed by this server's egress policy "
        "(FLOWHOOK_EGRESS_ALLOW / FLOWHOOK_EGRESS_DENY)",
    )


def parse_url(url: str) -> URL:
    """``url`` as the client will read it; ``BlockedRequest(INVALID_URL)`` if it cannot be."""
    try:
        return URL(url)
    except (ValueError, TypeError) as exc:
        raise BlockedRequest(ErrorReason.INVALID_URL, f"invalid URL: {exc}") from None


def _name(host: str) -> str:
    return host.rstrip(".").lower()


def _forms(ip: IPAddress) -> tuple[IPAddress, ...]:
    """``ip`` and the IPv4 address it carries (mapped, 6to4, NAT64), if any: a deny network
    holds an address in either form."""
    inner = _unmapped(ip)
    return (ip,) if inner == ip else (ip, inner)


def _unmapped(ip: IPAddress) -> IPAddress:
    """An IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) is judged by the
    IPv4 address it reaches: ``::ffff:127.0.0.1`` is ``127.0.0.1``."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


@lru_cache(maxsize=4096)  # hot path: the same few hosts are checked on every call
def ip_literal(host: str) -> IPAddress | None:
    """``host`` as an address if it is one (brackets of an IPv6 literal allowed)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_legacy_ipv4(host: str) -> bool:
    """``2130706433``, ``0x7f.1``, ``127.1``: forms the C library maps to an address."""
    if not host or not all(c in "0123456789abcdefxABCDEFX." for c in host):
        return False
    try:
        socket.inet_aton(host)  # pure parsing, no DNS
    except OSError:
        return False
    return True
