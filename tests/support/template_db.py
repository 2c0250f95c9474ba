"""Migrate once per test session, copy per test.

Most tests start a store on a fresh database, and a store migrates it to the newest
schema: Alembic's eight migrations cost 0.1 s on SQLite and 0.3 s on PostgreSQL per test
on a quiet machine (several times that on a loaded one), hundreds of times a run. Here the
real migrations run once per session (per xdist worker) into a template, and the first
``upgrade`` of a fresh test database to head copies that template instead: the same
schema, made by the same migrations.

Only a database that is still untouched is copied into (a SQLite file that does not exist
yet, or a PostgreSQL database made by the ``postgres_url`` fixture that still has no table
and no other connection); anything else, such as a migration test that has stepped a
database to an older revision, is migrated for real. The migrations themselves are tested
from empty in tests/store/test_migrations.py and by the tests that upgrade old data.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

import flowhook.store.db as db
from support.postgres import PostgresServer

_real_upgrade = db.upgrade
_lock = threading.Lock()
_sqlite_template: Path | None = None
_postgres_templates: dict[int, str] = {}  # server port -> template database name
_fresh_postgres: dict[str, Callable[[], bool]] = {}  # normalised URL -> copy the template


def upgrade(url: str) -> None:
    """``flowhook.store.db.upgrade`` for the test session (see the module's docstring)."""
    url = db.normalise_url(url)
    copy = _fresh_postgres.pop(url, None)
    if copy is not None and copy():
        return
    path = db.sqlite_file(url)
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sqlite_template(), path)
        return
    _real_upgrade(url)


def install() -> None:
    """Put the copying ``upgrade`` in place (``Store`` and ``flowhook db upgrade`` look it up
    in ``flowhook.store.db`` when they run)."""
    db.upgrade = upgrade


def sqlite_template() -> Path:
    """A SQLite file migrated to head, made on first use."""
    global _sqlite_template
    with _lock:
        if _sqlite_template is None:
            folder = Path(tempfile.mkdtemp(prefix="flowhook-template-"))
            atexit.register(shutil.rmtree, folder, True)
            path = folder / "template.db"
            _real_upgrade(f"sqlite:///{path}")
            with sqlite3.connect(path) as conn:  # everything in the main file, none in -wal
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
            _sqlite_template = path
        return _sqlite_template


def register_postgres(server: PostgresServer, name: str) -> None:
    """The ``postgres_url`` fixture's database ``name`` was just created empty: its first
    upgrade to head may replace it by a copy of the server's template."""

    def copy() -> bool:
        template = _postgres_template(server)
        with server.connect() as conn:
            others = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
            ).fetchone()
            if others is None or others[0]:
                return False  # a test holds it open: migrate it in place
            with server.connect(name) as inside:
                tables = inside.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                ).fetchone()
            if tables is None or tables[0]:
                return False
            try:  # never FORCE: a connection opened since the count above keeps it (and works)
                conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.ObjectInUse:
                return False  # migrate it in place
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        return True

    _fresh_postgres[db.normalise_url(server.url(name))] = copy


def forget_postgres(server: PostgresServer, name: str) -> None:
    _fresh_postgres.pop(db.normalise_url(server.url(name)), None)


def _postgres_template(server: PostgresServer) -> str:
    with _lock:
        name = _postgres_templates.get(server.port)
        if name is None:
            name = "flowhook_template"
            _real_upgrade(server.create_database(name))
            _postgres_templates[server.port] = name
        return name
