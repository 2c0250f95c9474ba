"""Fixtures shared by the whole suite: real databases to run store code against.

``database_url`` runs a test once on SQLite and once on PostgreSQL. PostgreSQL tests are
skipped when the server programs are not installed, unless ``FLOWHOOK_REQUIRE_POSTGRES=1``
(CI sets it), which turns the skip into a failure.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from flowhook.settings import Settings
from flowhook.store.db import Store
from support import template_db
from support.egress import LOOPBACK_ONLY_ENV
from support.postgres import PostgresError, PostgresServer, postgres_available

# every Settings() the suite builds (a test passes egress_allow=... to test the policy)
os.environ["FLOWHOOK_EGRESS_ALLOW"] = LOOPBACK_ONLY_ENV

# Hypothesis fails an example slower than 200 ms by default: a wall-clock bound that flakes
# on a loaded machine (two cores shared by several runs) and proves nothing about the code.
hypothesis_settings.register_profile("flowhook", deadline=None)
hypothesis_settings.load_profile("flowhook")

# A fresh test database is migrated by copying a template migrated once per session;
# FLOWHOOK_TEST_MIGRATE_EACH=1 runs the migrations for every test instead (to compare).
if os.environ.get("FLOWHOOK_TEST_MIGRATE_EACH") != "1":
    template_db.install()

_database_numbers = itertools.count(1)

SLOW_ONLY_MODULES = frozenset({"test_schemathesis.py"})
"""Modules whose collection alone is costly and whose point is their slow tests
(schemathesis builds its coverage cases while collecting: about half the suite's collection
time; the module's one quick test checks the network fence of its slow run). A run that
deselects slow tests (``make test-fast``) does not collect them at all."""


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name in SLOW_ONLY_MODULES and not _selects_slow(config):
        return True
    return None


def _selects_slow(config: pytest.Config) -> bool:
    """Whether ``-m`` lets a test marked only ``slow`` run."""
    from _pytest.mark.expression import Expression

    markexpr: str = config.getoption("markexpr") or ""
    if not markexpr:
        return True

    def only_slow(name: str, /, **_: str | int | bool | None) -> bool:
        return name == "slow"

    return Expression.compile(markexpr).evaluate(only_slow)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session, stopped and deleted at the end."""
    if not postgres_available():
        reason = (
            "PostgreSQL server programs (initdb, pg_ctl) not found in PATH or "
            "/usr/lib/postgresql/*/bin"
        )
        if os.environ.get("FLOWHOOK_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                f"{reason}, and FLOWHOOK_REQUIRE_POSTGRES=1 forbids skipping PostgreSQL tests "
                "(install them: apt-get install postgresql)",
                pytrace=False,
            )
        pytest.skip(reason)
    server = PostgresServer()
    try:
        server.start()
    except PostgresError as exc:
        # The programs are installed, so a failure here is a real problem: never skip it.
        pytest.fail(f"PostgreSQL is installed but the test server did not start: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (dropped afterwards)."""
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")
    name = f"t{next(_database_numbers)}_{slug}"[:63]
    url = postgres_server.create_database(name)
    template_db.register_postgres(postgres_server, name)
    yield url
    template_db.forget_postgres(postgres_server, name)
    postgres_server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for this test."""
    return f"sqlite:///{tmp_path}/flowhook.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def database_url(request: pytest.FixtureRequest) -> str:
    """The URL of a fresh database: each test using it runs once per engine. The PostgreSQL
    run is marked slow (a database of its own and the migrations take seconds per test):
    `make test-fast` checks each such test on SQLite, `make test` (CI) on both."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def api(sqlite_url: str, tmp_path: Path) -> Any:
    """A running flowhook server on SQLite with an in-process worker."""
    from support.app import running_api, settings_for

    async with running_api(settings_for(sqlite_url, tmp_path)) as running:
        yield running


@pytest.fixture
async def api_any(database_url: str, tmp_path: Path) -> Any:
    """The same server, once on SQLite and once on PostgreSQL."""
    from support.app import running_api, settings_for

    async with running_api(settings_for(database_url, tmp_path)) as running:
        yield running


@pytest.fixture
def api_with(sqlite_url: str, tmp_path: Path) -> Any:
    """``async with api_with(setting=value) as api``: a server with settings overridden."""
    from support.app import running_api, settings_for

    def make(**overrides: Any) -> Any:
        return running_api(settings_for(sqlite_url, tmp_path, **overrides))

    return make


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    """A migrated store on a fresh database, once per engine (repository tests)."""
    store = Store(Settings(database_url=database_url, data_dir=tmp_path))
    try:
        yield store
    finally:
        store.close()
