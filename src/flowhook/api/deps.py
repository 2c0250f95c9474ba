"""Dependencies shared by the routers: the runtime, the calling account (Bearer API key +
IP whitelist) and the operator token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

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
    address goes through here."""
    peer = request.client.host if request.client else None
    rt: Runtime = request.app.state.runtime
    return forwarded.client_address(
        peer, request.headers.getlist("x-forwarded-for"), rt.settings.trusted_proxies
    )


async def current_account(request: Request, rt: RuntimeDep) -> Account:
    """The account of the request's Bearer API key (:func:`accounts.authenticate`)."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
    return await accounts.authenticate(rt, key.strip(), client_address(request))


AccountDep = Annotated[Account, Depends(current_account)]


def operator(request: Request, rt: RuntimeDep) -> None:
    """The operator's Bearer token (:func:`accounts.check_operator`)."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    accounts.check_operator(rt, given.strip() if scheme.lower() == "bearer" else None)


OperatorDep = Depends(operator)
