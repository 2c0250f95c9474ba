"""Console users and sessions, as the CLI, the sign-in page and the Settings page use
them, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from pydantic import ValidationError

from flowhook.domain.account import Account
from flowhook.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized
from flowhook.runtime import Runtime
from flowhook.statuses import status_of
from flowhook.usecases import users
from flowhook.usecases.users import NewUser

MakeAccount = Callable[..., Awaitable[Account]]


async def test_an_e_mail_names_one_user_of_the_whole_platform(
    rt: Runtime, make_account: MakeAccount
) -> None:
    a, b = await make_account("a"), await make_account("b")
    made = await users.create(rt, a, NewUser(email="Ops@A.test", role="admin"))
    assert made.user.email == "ops@a.test" and len(made.password) >= 16
    with pytest.raises(Conflict) as taken:
        await users.create(rt, b, NewUser(email="OPS@a.test"))
    assert taken.value.code == "USER_EMAIL_TAKEN"
    assert [u.email for u in await users.list_all(rt, a)] == ["ops@a.test"]
    assert await users.list_all(rt, b) == []


def test_a_new_user_needs_an_address_and_a_long_enough_password() -> None:
    for bad in ({"email": "nobody"}, {"email": "a@b"}, {"email": "x@y.test", "password": "short"}):
        with pytest.raises(ValidationError):
            NewUser.model_validate(bad)
    with pytest.raises(ValidationError):
        NewUser.model_validate({"email": "x@y.test", "role": "owner"})


async def test_sign_in_opens_a_session_that_sign_out_ends(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme = await make_account()
    made = await users.create(rt, acme, NewUser(email="v@acme.test", role="viewer"))
    signed = await users.sign_in(rt, "V@acme.test ", made.password, "127.0.0.1")
    visitor = await users.visitor(rt, signed.token, "127.0.0.1")
    assert (visitor.user.email, visitor.account.id, visitor.is_admin) == (
        "v@acme.test",
        acme.id,
        False,
    )
    assert users.csrf_matches(visitor, signed.visitor.csrf_token)
    assert not users.csrf_matches(visitor, "other") and not users.csrf_matches(visitor, None)
    with pytest.raises(Forbidden) as refused:
        users.require_admin(visitor)
    assert refused.value.code == "ADMIN_REQUIRED"
    await users.sign_out(rt, signed.token)
    with pytest.raises(Unauthorized) as ended:
        await users.visitor(rt, signed.token, "127.0.0.1")
    assert ended.value.code == "SESSION_REQUIRED"


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_wrong_passwords_and_unknown_addresses_get_one_answer_then_a_limit(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme = await make_account()
    made = await users.create(rt, acme, NewUser(email="a@acme.test"))
    limit = rt.settings.sign_in_max_failures
    for attempt in range(limit):
        with pytest.raises(Unauthorized) as wrong:
            await users.sign_in(rt, "a@acme.test", f"not the password {attempt}", "10.0.0.1")
        assert wrong.value.code == "INVALID_CREDENTIALS"
    with pytest.raises(Unauthorized) as unknown:
        await users.sign_in(rt, "nobody@acme.test", "whatever", "10.0.0.1")
    assert unknown.value.code == "INVALID_CREDENTIALS"
    with pytest.raises(TooManyRequests) as limited:
        await users.sign_in(rt, "a@acme.test", made.password, "10.0.0.1")
    assert limited.value.code == "SIGN_IN_RATE_LIMITED" and status_of(limited.value) == 429
    # the same user from another address is not locked out by them
    assert (await users.sign_in(rt, "a@acme.test", made.password, "10.0.0.2")).token


async def test_text_no_database_can_store_is_a_wrong_password_not_a_crash(
    rt: Runtime, make_account: MakeAccount
) -> None:
    await make_account()
    with pytest.raises(Unauthorized):
        await users.sign_in(rt, "a\x00@acme.test" + "x" * 400, "pw\x00", "garbled\x00" * 20)
    with pytest.raises(Unauthorized):
        await users.visitor(rt, "token\x00", None)


async def test_the_ip_whitelist_is_checked_at_sign_in_and_on_every_page(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme = await make_account(ip_whitelist=["10.1.0.0/16"])
    made = await users.create(rt, acme, NewUser(email="a@acme.test"))
    with pytest.raises(Forbidden) as outside:
        await users.sign_in(rt, "a@acme.test", made.password, "192.0.2.1")
    assert outside.value.code == "IP_NOT_WHITELISTED"
    signed = await users.sign_in(rt, "a@acme.test", made.password, "10.1.2.3")
    with pytest.raises(Forbidden):
        await users.visitor(rt, signed.token, "192.0.2.1")


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_removing_a_user_ends_its_sessions_and_an_admin_cannot_remove_themself(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme, other = await make_account(), await make_account("other")
    admin = await users.create(rt, acme, NewUser(email="admin@acme.test", role="admin"))
    viewer = await users.create(rt, acme, NewUser(email="v@acme.test"))
    stranger = await users.create(rt, other, NewUser(email="s@other.test"))
    me = (await users.sign_in(rt, admin.user.email, admin.password, None)).visitor
    them = await users.sign_in(rt, viewer.user.email, viewer.password, None)
    with pytest.raises(Conflict):
        await users.delete(rt, me, me.user.id)
    with pytest.raises(NotFound):
        await users.delete(rt, me, stranger.user.id)  # another account's user: not found
    await users.delete(rt, me, viewer.user.id)
    with pytest.raises(Unauthorized):
        await users.visitor(rt, them.token, None)
    assert [u.email for u in await users.list_all(rt, acme)] == ["admin@acme.test"]
