"""Dependencies shared by the routers: the runtime, the calling account (Bearer API key +
IP whitelist) and the operator token."""

from __future__ import annotations

import hmac
import ipaddress
import time
from typing import Annotated

from fastapi import Depends, Request

from flowhook.api import forwarded
from flowhook.domain.account import Account
from flowhook.errors import Forbidden, Unauthorized
from flowhook.runtime import Runtime
from flowhook.store import accounts as account_repo
from flowhook.store.secrets import hash_key

_KEY_TTL = 2.0


async def runtime(request: Request) -> Runtime:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a thread pool, a thread
    # hop on every request of the hot path (the trigger)
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def ip_allowed(client_ip: str | None, whitelist: list[str]) -> bool:
    """An empty whitelist allows everyone; otherwise the address must be in one CIDR."""
    if not whitelist:
        return True
    if not client_ip:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    for entry in whitelist:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(request: Request) -> str | None:
    """The address the whitelist judges a request by: the connection's peer, or what a
    trusted proxy says it forwarded for (api/forwarded.py). Every check of the caller's
    address goes through here."""
    peer = request.client.host if request.client else None
    rt: Runtime = request.app.state.runtime
    if not rt.settings.trusted_proxies:
        return peer  # the default: no header is believed
    trusted = forwarded.networks(tuple(rt.settings.trusted_proxies))
    return forwarded.client_host(peer, request.headers.getlist("x-forwarded-for"), trusted)


def check_whitelist(request: Request, account: Account) -> None:
    client_ip = client_address(request)
    if not ip_allowed(client_ip, account.ip_whitelist):
        raise Forbidden(
            f"{client_ip} is not in this account's IP whitelist", code="IP_NOT_WHITELISTED"
        )


async def current_account(request: Request, rt: RuntimeDep) -> Account:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
    key = key.strip()
    cache: dict[str, tuple[float, Account]] = request.app.state.key_cache
    digest = hash_key(key)
    now = time.monotonic()
    hit = cache.get(digest)
    if hit and now - hit[0] < _KEY_TTL:
        account = hit[1]
    else:
        found = await rt.store.read(lambda c: account_repo.by_api_key(c, key))
        if found is None:
            raise Unauthorized("unknown API key", code="INVALID_API_KEY")
        account = found
        cache[digest] = (now, account)
    check_whitelist(request, account)
    return account


AccountDep = Annotated[Account, Depends(current_account)]


def forget_account(request: Request, account_id: str) -> None:
    """Drop cached copies after a settings change so the next call sees it."""
    cache: dict[str, tuple[float, Account]] = request.app.state.key_cache
    for digest, (_, account) in list(cache.items()):
        if account.id == account_id:
            cache.pop(digest, None)
    rt: Runtime = request.app.state.runtime
    rt.catalog.forget(account_id=account_id)


def operator(request: Request, rt: RuntimeDep) -> None:
    token = rt.settings.operator_token
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if not token:
        raise Forbidden(
            "operator API is disabled (set FLOWHOOK_OPERATOR_TOKEN)", code="OPERATOR_DISABLED"
        )
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        raise Unauthorized("operator token required", code="INVALID_OPERATOR_TOKEN")


OperatorDep = Depends(operator)
