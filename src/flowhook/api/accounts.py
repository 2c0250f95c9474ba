"""Account settings (``/v1/account/...``) and the operator's account controls, over
:mod:`flowhook.usecases.accounts` (where the rules are: no lockout by one's own whitelist,
one account per short domain)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request

from flowhook.api.deps import AccountDep, OperatorDep, RuntimeDep, client_address
from flowhook.api.openapi import error_responses
from flowhook.channels.config import ChannelSettings
from flowhook.domain.account import Account
from flowhook.usecases import accounts, channel_settings
from flowhook.usecases.accounts import (
    AccountSettings,
    AsymmetricSigning,
    OperatorPatch,
    RetentionIn,
    Rotation,
)

router = APIRouter()


def account_view(account: Account) -> dict[str, Any]:
    return {
        "account_id": account.id,
        "name": account.name,
        "http_enabled": account.http_enabled,
        "ip_whitelist": account.ip_whitelist,
        "default_region": account.default_region,
        "timezone": account.timezone,
        "short_token": account.short_token,
        "short_domain": account.short_domain,
        "channels": accounts.channels_of(account),
    }


@router.get("/v1/account/settings")
async def get_settings(account: AccountDep) -> dict[str, Any]:
    return account_view(account)


@router.put("/v1/account/settings", responses=error_responses(409))
async def put_settings(
    body: AccountSettings, account: AccountDep, rt: RuntimeDep, request: Request
) -> dict[str, Any]:
    updated = await accounts.update_settings(rt, account, body, address=client_address(request))
    return account_view(updated)


@router.get("/v1/account/channels")
async def get_channels(account: AccountDep) -> dict[str, Any]:
    """The adapter of each channel and its settings (passwords ``***``)."""
    return channel_settings.shown(account)


@router.put("/v1/account/channels", responses=error_responses(422))
async def put_channels(
    body: ChannelSettings, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Replace the channel settings alone (``***`` keeps a stored password)."""
    return channel_settings.shown(await channel_settings.update(rt, account, body))


@router.get("/v1/account/signing-secret")
async def get_signing_secret(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return asdict(await accounts.signing_secret(rt, account))


@router.post("/v1/account/signing-secret/rotate")
async def rotate_signing_secret(
    account: AccountDep, rt: RuntimeDep, body: Rotation | None = None
) -> dict[str, Any]:
    """A new secret; the replaced one keeps signing deliveries for ``overlap_s``."""
    return asdict(await accounts.rotate_signing_secret(rt, account, body))


@router.put("/v1/account/signing-secret/asymmetric")
async def put_asymmetric_signing(
    body: AsymmetricSigning, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    """ed25519 (``v1a``) signatures on or off; the answer has the public key."""
    return asdict(await accounts.set_asymmetric_signing(rt, account, body))


@router.get("/v1/account/retention")
async def get_retention(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return asdict(await accounts.retention(rt, account))


@router.put("/v1/account/retention")
async def put_retention(body: RetentionIn, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """How long finished executions and deliveries are kept (null: the server's default)."""
    return asdict(await accounts.set_retention(rt, account, body))


@router.patch("/v1/operator/accounts/{account_id}", dependencies=[OperatorDep])
async def operator_patch(account_id: str, body: OperatorPatch, rt: RuntimeDep) -> dict[str, Any]:
    return account_view(await accounts.operator_update(rt, account_id, body))
