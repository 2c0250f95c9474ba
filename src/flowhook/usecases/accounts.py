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
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    WithJsonSchema,
    field_validator,
)
from sqlalchemy import Connection

from flowhook.channels.config import ChannelSettings
from flowhook.domain.account import Account
from flowhook.domain.signing import Keyring
from flowhook.errors import Code, Conflict, Forbidden, NotFound, Unauthorized
from flowhook.runtime import Runtime
from flowhook.store import accounts as account_repo
from flowhook.store import demo as demo_repo
from flowhook.store import retention as retention_repo
from flowhook.usecases import channel_settings

MAX_WHITELIST = 200
MAX_SIGNING_OVERLAP_S = 30 * 24 * 3600.0

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
    return channel_settings.shown(account)


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
        raise Unauthorized("unknown API key", code=Code.INVALID_API_KEY)
    if not ip_allowed(address, account.ip_whitelist):
        raise Forbidden(
            f"{address} is not in this account's IP whitelist", code=Code.IP_NOT_WHITELISTED
        )
    return account


def check_operator(rt: Runtime, token: str | None) -> None:
    """The operator's token (``FLOWHOOK_OPERATOR_TOKEN``): 403 when none is configured (the
    operator API is off), 401 for a missing or wrong one."""
    expected = rt.settings.operator_token
    if not expected:
        raise Forbidden(
            "operator API is disabled (set FLOWHOOK_OPERATOR_TOKEN)", code=Code.OPERATOR_DISABLED
        )
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized("operator token required", code=Code.INVALID_OPERATOR_TOKEN)


# settings ---------------------------------------------------------------------------------


async def update_settings(
    rt: Runtime, account: Account, form: AccountSettings, *, address: str | None
) -> Account:
    """Replace the account's settings; ``address`` is the caller's, which the new whitelist
    must allow."""
    refuse_lockout(form, address)
    values = form.model_dump()
    # gateways under the egress guard; passwords kept encrypted ("***" keeps the stored one)
    values["channels"] = channel_settings.prepare(rt, account, form.channels)

    def update(conn: Connection) -> Account | None:
        _claim_short_domain(conn, account, values["short_domain"])
        return account_repo.update_settings(conn, account.id, **values)

    updated = await rt.store.write(update)
    rt.catalog.forget(account_id=account.id)
    if updated is None:
        raise NotFound(f"no account {account.id}", code=Code.ACCOUNT_NOT_FOUND)
    channel_settings.saved(rt, updated)
    return updated


def refuse_lockout(form: AccountSettings, address: str | None) -> None:
    """WHITELIST_LOCKOUT for a whitelist that does not allow ``address``, the caller's."""
    if form.ip_whitelist and not ip_allowed(address, form.ip_whitelist):
        raise Conflict(
            _lockout_message(address), code=Code.WHITELIST_LOCKOUT, details={"address": address}
        )


def _claim_short_domain(conn: Connection, account: Account, domain: str | None) -> None:
    owner = account_repo.by_short_domain(conn, domain) if domain else None
    if owner is not None and owner.id != account.id:
        raise Conflict(f"{domain} is another account's short domain", code=Code.SHORT_DOMAIN_TAKEN)


async def refuse_taken_short_domain(rt: Runtime, account: Account, form: AccountSettings) -> None:
    """SHORT_DOMAIN_TAKEN before a save, so that a form refused for other fields says this
    too in the same answer; :func:`update_settings` still checks as it writes."""
    await rt.store.read(lambda c: _claim_short_domain(c, account, form.short_domain))


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


class Rotation(BaseModel):
    """How a rotation treats the secret it replaces: valid ``overlap_s`` longer (default
    ``FLOWHOOK_SIGNING_OVERLAP_S``, 24 h; at most 30 days; 0 ends it at once)."""

    model_config = ConfigDict(extra="forbid")

    # strict: a number, never false read as 0 (an integer is a number too)
    overlap_s: Annotated[float, Strict()] | None = Field(None, ge=0, le=MAX_SIGNING_OVERLAP_S)


@dataclass(frozen=True)
class SigningSecret:
    """The current secret, and until when each replaced one still signs deliveries."""

    signing_secret: str
    previous_valid_until: list[float]
    public_key: str | None
    """The ed25519 public key (``whpk_…``) of the ``v1a`` signatures; None: none."""


def _shown(keyring: Keyring, now: float) -> SigningSecret:
    return SigningSecret(keyring.current, keyring.pending(now), keyring.public_key)


class AsymmetricSigning(BaseModel):
    """Whether deliveries also carry an ed25519 (``v1a``) signature."""

    model_config = ConfigDict(extra="forbid", strict=True)  # 1 or "true" is not true

    enabled: bool


async def signing_secret(rt: Runtime, account: Account) -> SigningSecret:
    """The secret the account's webhook deliveries are signed with."""
    keyring = await rt.store.read(lambda c: account_repo.signing_keyring(c, account.id, rt.cipher))
    return _shown(keyring, rt.now())


async def rotate_signing_secret(
    rt: Runtime, account: Account, rotation: Rotation | None = None
) -> SigningSecret:
    """A new signing secret, in force from the next attempt; deliveries carry a signature
    with the replaced one too until its overlap ends."""
    overlap = rotation.overlap_s if rotation is not None else None
    if overlap is None:
        overlap = rt.settings.signing_overlap_s
    now = rt.now()
    keyring = await rt.store.write(
        lambda c: account_repo.rotate_signing_secret(
            c, account.id, rt.cipher, now=now, overlap_s=overlap
        )
    )
    return _shown(keyring, now)


async def set_asymmetric_signing(
    rt: Runtime, account: Account, form: AsymmetricSigning
) -> SigningSecret:
    """Switch ``v1a`` signatures on (a new key pair, kept while they stay on) or off."""
    keyring = await rt.store.write(
        lambda c: account_repo.set_asymmetric(c, account.id, rt.cipher, form.enabled)
    )
    return _shown(keyring, rt.now())


class RetentionIn(BaseModel):
    """How many days the account keeps finished executions and deliveries; null: the
    server's default (``FLOWHOOK_RETENTION_DAYS``)."""

    model_config = ConfigDict(extra="forbid")

    days: int | None = Field(ge=1, le=3650)

    @field_validator("days", mode="before")
    @classmethod
    def _not_a_boolean(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("days is a number of days, not true or false")
        return value


@dataclass(frozen=True)
class Retention:
    days: int | None
    """The account's own choice (None: the default)."""
    effective_days: int


async def retention(rt: Runtime, account: Account) -> Retention:
    days = (await rt.store.read(retention_repo.retention_days)).get(account.id)
    return Retention(days, days or rt.settings.retention_days)


async def set_retention(rt: Runtime, account: Account, form: RetentionIn) -> Retention:
    await rt.store.write(lambda c: retention_repo.set_retention_days(c, account.id, form.days))
    return Retention(form.days, form.days or rt.settings.retention_days)


# the operator -----------------------------------------------------------------------------


async def operator_update(rt: Runtime, account_id: str, form: OperatorPatch) -> Account:
    """The operator's change to any account (``http_enabled``, any IP whitelist): no
    caller account, no lockout rule."""
    values = form.model_dump(exclude_none=True)
    updated = await rt.store.write(lambda c: account_repo.update_settings(c, account_id, **values))
    if updated is None:
        raise NotFound(f"no account {account_id}", code=Code.ACCOUNT_NOT_FOUND)
    rt.catalog.forget(account_id=account_id)
    return updated
