"""The accounts use cases called directly: creating an account, its API key, the IP
whitelist (no lockout, a change seen at once by the key cache), the short domain, the
signing secret and the operator's controls."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from flowhook.domain.account import Account
from flowhook.errors import Conflict, Forbidden, NotFound, Unauthorized
from flowhook.runtime import Runtime
from flowhook.usecases import accounts
from flowhook.usecases.accounts import AccountSettings, NewAccount, OperatorPatch


async def test_a_created_account_is_found_by_its_key(
    rt: Runtime, created: accounts.AccountKey
) -> None:
    found = await accounts.authenticate(rt, created.api_key, "127.0.0.1")
    assert found.id == created.account.id and found.name == "acme"
    assert (found.default_region, found.timezone, found.http_enabled) == ("IN", "UTC", False)


async def test_an_unknown_key_is_refused(rt: Runtime, created: accounts.AccountKey) -> None:
    with pytest.raises(Unauthorized) as refused:
        await accounts.authenticate(rt, created.api_key + "x", "127.0.0.1")
    assert refused.value.code == "INVALID_API_KEY"


def test_a_new_account_needs_a_known_region_and_time_zone() -> None:
    assert NewAccount(name="a", default_region="us").default_region == "US"
    for wrong in ({"default_region": "XX"}, {"timezone": "Mars/Olympus_Mons"}, {"name": ""}):
        with pytest.raises(ValidationError):
            NewAccount(**{"name": "a", **wrong})


async def test_a_whitelist_without_the_callers_address_is_a_lockout_and_changes_nothing(
    rt: Runtime, created: accounts.AccountKey
) -> None:
    wanted = AccountSettings(ip_whitelist=["192.0.2.0/24"], timezone="Asia/Kolkata")
    with pytest.raises(Conflict) as refused:
        await accounts.update_settings(rt, created.account, wanted, address="127.0.0.1")
    assert refused.value.code == "WHITELIST_LOCKOUT"
    assert refused.value.details == {"address": "127.0.0.1"}
    with pytest.raises(Conflict) as unknown:
        await accounts.update_settings(rt, created.account, wanted, address=None)
    assert unknown.value.code == "WHITELIST_LOCKOUT"
    assert "unknown" in unknown.value.message
    same = await accounts.authenticate(rt, created.api_key, "203.0.113.7")
    assert (same.ip_whitelist, same.timezone) == ([], "UTC")


async def test_a_whitelist_with_the_callers_address_is_kept(
    rt: Runtime, created: accounts.AccountKey
) -> None:
    wanted = AccountSettings(ip_whitelist=["192.0.2.0/24", "127.0.0.1"], default_region="us")
    updated = await accounts.update_settings(rt, created.account, wanted, address="127.0.0.1")
    assert updated.ip_whitelist == ["192.0.2.0/24", "127.0.0.1/32"]
    assert updated.default_region == "US"


async def test_a_cached_key_sees_a_new_whitelist_at_once(
    rt: Runtime, created: accounts.AccountKey
) -> None:
    key = created.api_key
    await accounts.authenticate(rt, key, "192.0.2.9")  # now cached, allowed from anywhere
    narrowed = AccountSettings(ip_whitelist=["127.0.0.1"])
    await accounts.update_settings(rt, created.account, narrowed, address="127.0.0.1")
    with pytest.raises(Forbidden) as refused:
        await accounts.authenticate(rt, key, "192.0.2.9")
    assert refused.value.code == "IP_NOT_WHITELISTED"
    assert (await accounts.authenticate(rt, key, "127.0.0.1")).ip_whitelist == ["127.0.0.1/32"]


async def test_a_cached_key_sees_the_operators_change_at_once(
    rt: Runtime, created: accounts.AccountKey
) -> None:
    key, account_id = created.api_key, created.account.id
    await accounts.authenticate(rt, key, "127.0.0.1")
    patch = OperatorPatch(ip_whitelist=["192.0.2.0/24"], http_enabled=True)
    changed = await accounts.operator_update(rt, account_id, patch)
    assert changed.http_enabled is True
    with pytest.raises(Forbidden):
        await accounts.authenticate(rt, key, "127.0.0.1")
    back = await accounts.operator_update(rt, account_id, OperatorPatch(ip_whitelist=[]))
    assert back.http_enabled is True  # a field left out stays as it is
    assert (await accounts.authenticate(rt, key, "127.0.0.1")).ip_whitelist == []


async def test_the_operator_update_of_an_unknown_account_is_not_found(rt: Runtime) -> None:
    with pytest.raises(NotFound) as missing:
        await accounts.operator_update(rt, "no-such-account", OperatorPatch(http_enabled=True))
    assert missing.value.code == "ACCOUNT_NOT_FOUND"


async def test_a_short_domain_belongs_to_one_account(rt: Runtime, account: Account) -> None:
    other = (await accounts.create(rt, NewAccount(name="other"))).account
    domain = AccountSettings(short_domain=" Go.Example.com ")
    mine = await accounts.update_settings(rt, account, domain, address=None)
    assert mine.short_domain == "go.example.com"
    again = await accounts.update_settings(rt, mine, domain, address=None)  # its own: fine
    assert again.short_domain == "go.example.com"
    with pytest.raises(Conflict) as taken:
        await accounts.update_settings(rt, other, domain, address=None)
    assert taken.value.code == "SHORT_DOMAIN_TAKEN"


async def test_the_signing_secret_is_read_and_rotated(rt: Runtime, account: Account) -> None:
    first = await accounts.signing_secret(rt, account)
    assert first.previous_valid_until == []
    rotated = await accounts.rotate_signing_secret(rt, account)
    assert rotated.signing_secret != first.signing_secret
    assert await accounts.signing_secret(rt, account) == rotated


async def test_a_rotation_keeps_the_old_secret_for_the_default_overlap_on_the_runtimes_clock(
    rt: Runtime, account: Account
) -> None:
    rt.services.clock = lambda: 1_700_000_000.0
    rotated = await accounts.rotate_signing_secret(rt, account)
    assert rotated.previous_valid_until == [1_700_000_000.0 + 86400]
    rt.services.clock = lambda: 1_700_000_000.0 + 86400
    shown = await accounts.signing_secret(rt, account)
    assert shown.signing_secret == rotated.signing_secret and shown.previous_valid_until == []


async def test_a_rotation_may_choose_its_overlap(rt: Runtime, account: Account) -> None:
    rt.services.clock = lambda: 1_700_000_000.0
    rotation = accounts.Rotation(overlap_s=30 * 24 * 3600)
    rotated = await accounts.rotate_signing_secret(rt, account, rotation)
    assert rotated.previous_valid_until == [1_700_000_000.0 + 30 * 24 * 3600]
    with pytest.raises(ValidationError):
        accounts.Rotation(overlap_s=30 * 24 * 3600 + 1)


def test_the_operator_token_is_checked(tmp_path: Path) -> None:
    from support.app import settings_for

    rt = Runtime.build(settings_for(f"sqlite:///{tmp_path}/o.db", tmp_path))
    try:
        accounts.check_operator(rt, "operator-secret")
        for wrong in (None, "", "wrong", "opérateur"):
            with pytest.raises(Unauthorized):
                accounts.check_operator(rt, wrong)
        rt.settings = rt.settings.model_copy(update={"operator_token": ""})
        with pytest.raises(Forbidden) as off:
            accounts.check_operator(rt, "operator-secret")
        assert off.value.code == "OPERATOR_DISABLED"
    finally:
        rt.store.close()


async def test_the_demo_account_keeps_its_key(rt: Runtime) -> None:
    first = accounts.ensure_demo(rt)
    again = accounts.ensure_demo(rt)
    assert again.account.id == first.account.id and again.api_key == first.api_key
    assert (await accounts.authenticate(rt, again.api_key, None)).name == "demo"
