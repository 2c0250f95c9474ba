"""The PostgreSQL fixture gives each test a real, empty PostgreSQL 15 database."""

from __future__ import annotations

from sqlalchemy import create_engine, text


def test_postgres_url_is_a_real_postgresql_15_database(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            version = conn.execute(text("SELECT version()")).scalar_one()
            conn.execute(text("CREATE TABLE flow (id serial PRIMARY KEY, name text NOT NULL)"))
            conn.execute(text("INSERT INTO flow (name) VALUES (:a), (:b)"), {"a": "ü", "b": "x"})
            names = conn.execute(text("SELECT name FROM flow ORDER BY id")).scalars().all()
    finally:
        engine.dispose()
    assert version.startswith("PostgreSQL 15")
    assert names == ["ü", "x"]


def test_each_test_gets_an_empty_database(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert tables == 0


def test_database_url_works_on_both_engines(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE webhook (id integer PRIMARY KEY, url text)"))
            conn.execute(text("INSERT INTO webhook VALUES (1, 'https://example.test/')"))
            url = conn.execute(text("SELECT url FROM webhook WHERE id = 1")).scalar_one()
    finally:
        engine.dispose()
    assert url == "https://example.test/"
