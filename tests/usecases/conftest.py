"""A runtime (no worker) on a fresh database, once per engine, and an account in it: the
use cases are called on it directly, as the API, the CLI and the console call them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flowhook.domain.account import Account
from flowhook.runtime import Runtime
from flowhook.usecases import accounts
from support.app import settings_for


@pytest.fixture
async def rt(database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = Runtime.build(settings_for(database_url, tmp_path))
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
async def created(rt: Runtime) -> accounts.AccountKey:
    """An account made by the use case, with its API key."""
    return await accounts.create(rt, accounts.NewAccount(name="acme"))


@pytest.fixture
def account(created: accounts.AccountKey) -> Account:
    return created.account
