"""Dependencies shared by the routers: the runtime, the calling account (Bearer API key +
IP whitelist) and the operator token."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Request
from starlette.types import Scope

from flowhook import forwarded
from flowhook.domain.account import Account
from flowhook.errors import Unauthorized
from flowhook.runtime import Runtime
from flowhook.usecases import accounts


async def runtime(request: Request) -> Runtime:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a thread pool, a thread
    # hop on every request of the hot path (the trigger)
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def client_address(request: Request) -> str | None:
    """The address the whitelist judges a request by: the connection's peer, or what a
    trusted proxy says it forwarded for (forwarded.py). Every check of the caller's
    address goes through here (:func:`scope_address`)."""
    rt: Runtime = request.app.state.runtime
    return scope_address(request.scope, rt.settings.trusted_proxies)


def scope_address(scope: Scope, trusted_proxies: Sequence[str]) -> str | None:
    """:func:`client_address` from the ASGI scope: the trigger is served without a
    ``Request``. ``X-Forwarded-For`` is read only when some proxy is trusted."""
    client = scope.get("client")
    peer: str | None = client[0] if client else None
    if not trusted_proxies:
        return peer  # the default: no header is believed (forwarded.client_address)
    forwarded_for = [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
    return forwarded.client_address(peer, forwarded_for, trusted_proxies)


def header(scope: Scope, name: bytes) -> str:
    """The first value of the header ``name`` (lower case), as Starlette's
    ``request.headers.get`` reads it, or "" without building the ``Headers``."""
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return ""


async def current_account(request: Request, rt: RuntimeDep) -> Account:
    """The account of the request's Bearer API key (:func:`scope_account`)."""
    return await scope_account(request.scope, rt)


async def scope_account(scope: Scope, rt: Runtime) -> Account:
    """The account of the Bearer API key in the ASGI scope's headers
    (:func:`accounts.authenticate`), for the routes and the trigger alike."""
    scheme, _, key = header(scope, b"authorization").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
    return await accounts.authenticate(rt, key, scope_address(scope, rt.settings.trusted_proxies))


AccountDep = Annotated[Account, Depends(current_account)]


def operator(request: Request, rt: RuntimeDep) -> None:
    """The operator's Bearer token (:func:`accounts.check_operator`)."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    accounts.check_operator(rt, given.strip() if scheme.lower() == "bearer" else None)


OperatorDep = Depends(operator)
