"""The guard on DNS answers: ``GuardedResolver`` filters what DNS returns with the rules of
``guard.py``, so a name that points at ``127.0.0.1`` is refused like the literal address
would be. The client's connections (``wire.py``) resolve every name through it.

It keeps aiohttp's resolver interface (``AbstractResolver``: its default resolver does the
look-ups, and tests inject resolvers that map names to 127.0.0.1), so it is the part of the
guard that needs aiohttp, kept apart so that ``guard.py`` stays plain Python: only the HTTP
transport (``transport.py``) imports this module, when it builds its pool.
"""

from __future__ import annotations

import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from flowhook.webhooks.guard import (
    OPEN,
    BlockedResolution,
    EgressPolicy,
    IPAddress,
    address_allowed,
    blocked_address,
    egress_denied,
    ip_literal,
)


class GuardedResolver(AbstractResolver):
    """Resolves with an inner resolver (aiohttp's default unless one is injected) and
    drops every address the guard forbids; refuses the name when none is left."""

    def __init__(
        self,
        inner: AbstractResolver | None = None,
        *,
        allow_private: bool = False,
        policy: EgressPolicy = OPEN,
    ) -> None:
        self._inner = inner
        self._owns_inner = inner is None
        self.allow_private = allow_private
        self.policy = policy

    @property
    def inner(self) -> AbstractResolver:
        if self._inner is None:
            # Created lazily: aiohttp's ThreadedResolver binds to the running loop.
            self._inner = DefaultResolver()
        return self._inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self.policy.name_refused(host):  # check_url refused it already; never look it up
            raise BlockedResolution(egress_denied(host))
        results = await self.inner.resolve(host, port, family)
        safe = [r for r in results if self._allowed(r["host"])]
        allowed = [r for r in safe if self.policy.address_allowed(_address(r), name=host)]
        if not allowed:
            raise BlockedResolution(egress_denied(host) if safe else blocked_address(host))
        return allowed

    async def close(self) -> None:
        if self._inner is not None and self._owns_inner:
            await self._inner.close()

    def _allowed(self, address: str) -> bool:
        ip = ip_literal(address)
        return ip is not None and address_allowed(ip, allow_private=self.allow_private)


def _address(result: ResolveResult) -> IPAddress:
    ip = ip_literal(result["host"])
    assert ip is not None  # kept by _allowed only if it is an address
    return ip
