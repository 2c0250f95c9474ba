"""The Alembic migrations build exactly the schema of ``store/tables.py``: a table or column
added to one and not the other shows here, on both engines, before it reaches a database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from flowhook.store.db import make_engine, upgrade
from flowhook.store.tables import metadata


def test_the_migrated_schema_matches_the_tables(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url, single=True)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
