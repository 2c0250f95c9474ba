"""Account settings (``/v1/account/...``) and the operator's account controls.

An account cannot lock itself out: a new IP whitelist must allow the request that sets
it. The operator may set any whitelist (the way back in for an account that changed
address)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator
from sqlalchemy import Connection

from flowhook.api.deps import (
    AccountDep,
    OperatorDep,
    RuntimeDep,
    client_address,
    forget_account,
    ip_allowed,
)
from flowhook.api.openapi import error_responses
from flowhook.domain.account import Account
from flowhook.errors import Conflict, NotFound
from flowhook.store import accounts as account_repo

router = APIRouter()

MAX_WHITELIST = 200

_IPV4_CIDR = (
    r"^\s*((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
    r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])\s*$"
)
Cidr = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "description": "an IP address or a CIDR range",
            "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}, {"pattern": _IPV4_CIDR}],
        }
    ),
]
"""A whitelist entry, as :func:`_cidrs` accepts it (documented as far as JSON Schema can)."""


def _cidrs(value: list[str]) -> list[str]:
    out = []
    for entry in value:
        try:
            out.append(str(ipaddress.ip_network(entry.strip(), strict=False)))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR range") from None
    return out


class AccountSettings(BaseModel):
    """What an account may change about itself (``http_enabled`` is the operator's)."""

    model_config = ConfigDict(extra="forbid")

    ip_whitelist: list[Cidr] = Field(default_factory=list, max_length=MAX_WHITELIST)
    default_region: str = "IN"
    timezone: str = "UTC"
    short_domain: str | None = Field(None, max_length=255)

    @field_validator("ip_whitelist")
    @classmethod
    def _whitelist(cls, value: list[str]) -> list[str]:
        return _cidrs(value)

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        value = value.upper()
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a supported region code (e.g. IN, US, GB)")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Kolkata)") from None
        return value

    @field_validator("short_domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().lower()
        if "/" in value or " " in value:
            raise ValueError("a short domain is a host name like go.example.com")
        return value


class OperatorPatch(BaseModel):
    """What the operator may change about any account; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    http_enabled: bool | None = None
    ip_whitelist: list[Cidr] | None = Field(None, max_length=MAX_WHITELIST)

    @field_validator("ip_whitelist")
    @classmethod
    def _whitelist(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _cidrs(value)


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
    }


@router.get("/v1/account/settings")
async def get_settings(account: AccountDep) -> dict[str, Any]:
    return account_view(account)


@router.put("/v1/account/settings", responses=error_responses(409))
async def put_settings(
    body: AccountSettings, account: AccountDep, rt: RuntimeDep, request: Request
) -> dict[str, Any]:
    caller = client_address(request)
    if body.ip_whitelist and not ip_allowed(caller, body.ip_whitelist):
        raise Conflict(
            _lockout_message(caller), code="WHITELIST_LOCKOUT", details={"address": caller}
        )
    values = body.model_dump()

    def update(conn: Connection) -> Account | None:
        domain = values["short_domain"]
        owner = account_repo.by_short_domain(conn, domain) if domain else None
        if owner is not None and owner.id != account.id:
            raise Conflict(f"{domain} is another account's short domain", code="SHORT_DOMAIN_TAKEN")
        return account_repo.update_settings(conn, account.id, **values)

    updated = await rt.store.write(update)
    forget_account(request, account.id)
    assert updated is not None
    return account_view(updated)


def _lockout_message(caller: str | None) -> str:
    if caller is None:
        return (
            "this IP whitelist would lock the account out: the address of this request is "
            "unknown, so no whitelist can allow it"
        )
    return (
        f"this IP whitelist would lock the account out: it does not allow {caller}, the "
        f"address of this request; include {caller} (or a range that contains it)"
    )


@router.get("/v1/account/signing-secret")
async def get_signing_secret(account: AccountDep, rt: RuntimeDep) -> dict[str, str]:
    secret = await rt.store.read(lambda c: account_repo.signing_secret(c, account.id, rt.cipher))
    return {"signing_secret": secret}


@router.post("/v1/account/signing-secret/rotate")
async def rotate_signing_secret(account: AccountDep, rt: RuntimeDep) -> dict[str, str]:
    secret = await rt.store.write(
        lambda c: account_repo.rotate_signing_secret(c, account.id, rt.cipher)
    )
    return {"signing_secret": secret}


@router.patch("/v1/operator/accounts/{account_id}", dependencies=[OperatorDep])
async def operator_patch(
    account_id: str, body: OperatorPatch, rt: RuntimeDep, request: Request
) -> dict[str, Any]:
    values = body.model_dump(exclude_none=True)
    updated = await rt.store.write(lambda c: account_repo.update_settings(c, account_id, **values))
    if updated is None:
        raise NotFound(f"no account {account_id}", code="ACCOUNT_NOT_FOUND")
    forget_account(request, account_id)
    return account_view(updated)
