"""The application layer without HTTP: a real Runtime on a fresh database (once per
engine), not started (no worker claims what a test stores), an account made by the use
case, and a factory of further accounts. The use cases are called on it directly, as the
API, the CLI and the console call them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from flowhook.domain.account import Account
from flowhook.runtime import Runtime
from flowhook.store import accounts as account_repo
from flowhook.usecases import accounts
from support.app import settings_for

MakeAccount = Callable[..., Awaitable[Account]]


@pytest.fixture
async def rt(database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = Runtime.build(settings_for(database_url, tmp_path))
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
def make_account(rt: Runtime) -> MakeAccount:
    """``await make_account("acme", http_enabled=True)``: an account stored as the operator
    API stores one."""

    async def make(name: str = "acme", **settings: Any) -> Account:
        account, _key = await rt.store.write(
            lambda c: account_repo.create(c, name, rt.cipher, rt.now(), **settings)
        )
        return account

    return make


@pytest.fixture
async def created(rt: Runtime) -> accounts.AccountKey:
    """An account made by the use case, with its API key."""
    return await accounts.create(rt, accounts.NewAccount(name="acme"))


@pytest.fixture
def account(created: accounts.AccountKey) -> Account:
    return created.account
