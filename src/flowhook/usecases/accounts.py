"""Accounts: creating one, authenticating its API key, its settings (the IP whitelist, the
short domain …), its signing secret, and the operator's controls over any account.

Two rules live here. An account cannot lock itself out: a new IP whitelist must allow the
address of the call that sets it (``WHITELIST_LOCKOUT``); the operator may set any
whitelist (the way back in for an account that changed address). And a short domain
belongs to one account only (``SHORT_DOMAIN_TAKEN``).

Accounts are cached by API key in the runtime's catalog (the trigger checks a key on every
call); every change here forgets the account there, so the next call sees it at once.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, field_validator
from sqlalchemy import Connection

from flowhook.channels.config import ChannelSettings
from flowhook.domain.account import Account
from flowhook.errors import Conflict, Forbidden, NotFound, Unauthorized
from flowhook.runtime import Runtime
from flowhook.store import accounts as account_repo
from flowhook.store import demo as demo_repo

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


def _check_region(value: str) -> str:
    value = value.upper()
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{value!r} is not a supported region code (e.g. IN, US, GB)")
    return value


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Kolkata)") from None
    return value


Region = Annotated[str, AfterValidator(_check_region)]
"""A phone region code (upper-cased): numbers without a country code are read in it."""
TimeZone = Annotated[str, AfterValidator(_check_timezone)]
"""An IANA time zone name."""


class NewAccount(BaseModel):
    """An account as the operator creates it (``flowhook account create``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    http_enabled: bool = False
    default_region: Region = "IN"
    timezone: TimeZone = "UTC"


class AccountSettings(BaseModel):
    """What an account may change about itself (``http_enabled`` is the operator's)."""

    model_config = ConfigDict(extra="forbid")

    ip_whitelist: list[Cidr] = Field(default_factory=list, max_length=MAX_WHITELIST)
    default_region: Region = "IN"
    timezone: TimeZone = "UTC"
    short_domain: str | None = Field(None, max_length=255)
    channels: ChannelSettings = Field(default_factory=ChannelSettings)
    """The adapter of each channel and the simulator's script (docs/channels.md)."""

    @field_validator("ip_whitelist")
    @classmethod
    def _whitelist(cls, value: list[str]) -> list[str]:
        return _cidrs(value)

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


@dataclass(frozen=True)
class AccountKey:
    """A created account with its API key: the only time the key is shown (it is stored
    hashed)."""

    account: Account
    api_key: str


def ip_allowed(address: str | None, whitelist: list[str]) -> bool:
    """An empty whitelist allows everyone; otherwise the address must be in one CIDR."""
    if not whitelist:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in whitelist:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def channels_of(account: Account) -> dict[str, Any]:
    """The account's channel settings as the API shows them (defaults filled in)."""
    return ChannelSettings.of(account.channels).model_dump()


# creating ---------------------------------------------------------------------------------


async def create(rt: Runtime, form: NewAccount) -> AccountKey:
    """A new account and its API key (the operator's act: there is no caller account)."""
    now = rt.now()
    account, api_key = await rt.store.write(
        lambda c: account_repo.create(
            c,
            form.name,
            rt.cipher,
            now,
            http_enabled=form.http_enabled,
            default_region=form.default_region,
            timezone=form.timezone,
        )
    )
    return AccountKey(account, api_key)


def ensure_demo(rt: Runtime) -> AccountKey:
    """The demo account (created once, with published demo flows) and its kept key.

    Synchronous on purpose: ``flowhook serve --demo`` calls it before the server's event
    loop exists."""
    key_file = demo_repo.key_file(rt.settings.data_dir)
    now = rt.now()
    account, api_key, _ = rt.store.write_sync(
        lambda c: demo_repo.ensure_demo(c, rt.cipher, now, key_file)
    )
    rt.catalog.forget(account_id=account.id)  # its key may have been replaced
    return AccountKey(account, api_key)


# authenticating ---------------------------------------------------------------------------


async def authenticate(rt: Runtime, api_key: str, address: str | None) -> Account:
    """The account of an API key, called from ``address`` (None when unknown): 401 for a
    key no account has, 403 for an address outside the account's IP whitelist.

    On every API call (the trigger's hot path): the account comes from the catalog's cache
    of keys, which the changes made here forget."""
    account = rt.catalog.cached_account_by_key(api_key) or await rt.catalog.account_by_key(api_key)
    if account is None:
        raise Unauthorized("unknown API key", code="INVALID_API_KEY")
    if not ip_allowed(address, account.ip_whitelist):
        raise Forbidden(
            f"{address} is not in this account's IP whitelist", code="IP_NOT_WHITELISTED"
        )
    return account


def check_operator(rt: Runtime, token: str | None) -> None:
    """The operator's token (``FLOWHOOK_OPERATOR_TOKEN``): 403 when none is configured (the
    operator API is off), 401 for a missing or wrong one."""
    expected = rt.settings.operator_token
    if not expected:
        raise Forbidden(
            "operator API is disabled (set FLOWHOOK_OPERATOR_TOKEN)", code="OPERATOR_DISABLED"
        )
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("operator token required", code="INVALID_OPERATOR_TOKEN")


# settings ---------------------------------------------------------------------------------


async def update_settings(
    rt: Runtime, account: Account, form: AccountSettings, *, address: str | None
) -> Account:
    """Replace the account's settings; ``address`` is the caller's, which the new whitelist
    must allow."""
    if form.ip_whitelist and not ip_allowed(address, form.ip_whitelist):
        raise Conflict(
            _lockout_message(address), code="WHITELIST_LOCKOUT", details={"address": address}
        )
    values = form.model_dump()

    def update(conn: Connection) -> Account | None:
        domain = values["short_domain"]
        owner = account_repo.by_short_domain(conn, domain) if domain else None
        if owner is not None and owner.id != account.id:
            raise Conflict(f"{domain} is another account's short domain", code="SHORT_DOMAIN_TAKEN")
        return account_repo.update_settings(conn, account.id, **values)

    updated = await rt.store.write(update)
    rt.catalog.forget(account_id=account.id)
    if updated is None:
        raise NotFound(f"no account {account.id}", code="ACCOUNT_NOT_FOUND")
    return updated


def _lockout_message(address: str | None) -> str:
    if address is None:
        return (
            "this IP whitelist would lock the account out: the address of this request is "
            "unknown, so no whitelist can allow it"
        )
    return (
        f"this IP whitelist would lock the account out: it does not allow {address}, the "
        f"address of this request; include {address} (or a range that contains it)"
    )


async def signing_secret(rt: Runtime, account: Account) -> str:
    """The secret the account's webhook deliveries are signed with."""
    return await rt.store.read(lambda c: account_repo.signing_secret(c, account.id, rt.cipher))


async def rotate_signing_secret(rt: Runtime, account: Account) -> str:
    """A new signing secret, in force from now on; returns it."""
    return await rt.store.write(
        lambda c: account_repo.rotate_signing_secret(c, account.id, rt.cipher)
    )


# the operator -----------------------------------------------------------------------------


async def operator_update(rt: Runtime, account_id: str, form: OperatorPatch) -> Account:
    """The operator's change to any account (``http_enabled``, any IP whitelist): no
    caller account, no lockout rule."""
    values = form.model_dump(exclude_none=True)
    updated = await rt.store.write(lambda c: account_repo.update_settings(c, account_id, **values))
    if updated is None:
        raise NotFound(f"no account {account_id}", code="ACCOUNT_NOT_FOUND")
    rt.catalog.forget(account_id=account_id)
    return updated
