"""The suite's template database (tests/support/template_db.py): a fresh test database
migrated by copying the template has exactly the schema the migrations build from empty,
on both engines, and a database a test has already touched is migrated for real."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from flowhook.settings import Settings
from flowhook.store.db import Store, alembic_config, make_engine
from support import template_db
from support.postgres import PostgresServer


def schema(engine: Engine) -> dict[str, object]:
    """Every table with its columns, indexes and unique constraints, and the revision."""
    found = inspect(engine)
    tables: dict[str, object] = {
        name: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(name)],
            sorted((i["name"] or "", tuple(i["column_names"])) for i in found.get_indexes(name)),
            sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(name)),
        )
        for name in sorted(found.get_table_names())
    }
    with engine.connect() as conn:
        tables["revision"] = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    return tables


def built(url: str, *, copied: bool) -> dict[str, object]:
    if copied:
        Store(Settings(database_url=url)).close()  # the fixture's database, as tests use it
    else:
        template_db._real_upgrade(url)  # Alembic from empty
    engine = make_engine(url, single=True)
    try:
        return schema(engine)
    finally:
        engine.dispose()


def test_a_copied_sqlite_database_has_the_migrated_schema(sqlite_url: str, tmp_path: Path) -> None:
    migrated = built(f"sqlite:///{tmp_path}/migrated.db", copied=False)
    assert built(sqlite_url, copied=True) == migrated
    assert "deliveries" in migrated and migrated["revision"]


@pytest.mark.slow  # a second or more of real waiting: not in make test-fast
def test_a_copied_postgres_database_has_the_migrated_schema(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    migrated = built(postgres_server.create_database("migrated_from_empty"), copied=False)
    try:
        assert built(postgres_url, copied=True) == migrated
    finally:
        postgres_server.drop_database("migrated_from_empty")
    assert "deliveries" in migrated and migrated["revision"]


def test_a_database_at_an_older_revision_is_migrated_with_its_rows(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "0001")
    engine = make_engine(database_url, single=True)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE marker (name VARCHAR(10))"))
            conn.execute(text("INSERT INTO marker VALUES ('kept')"))
        Store(Settings(database_url=database_url)).close()
        with engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM marker")).scalars().all()
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    assert names == ["kept"]
    assert revision == template_db_head()


def template_db_head() -> str:
    engine = make_engine(f"sqlite:///{template_db.sqlite_template()}", single=True)
    try:
        with engine.connect() as conn:
            head: str = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            return head
    finally:
        engine.dispose()
