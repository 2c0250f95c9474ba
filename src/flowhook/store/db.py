"""The store: one SQLAlchemy engine, the group-committing writer and a reader pool.

Repositories are plain functions ``fn(conn, ...)`` (see the other modules of this
package); callers run them with ``await store.write(fn)`` (group-committed) or
``await store.read(fn)`` (a pooled connection in a thread). SQLite runs in WAL mode with
``synchronous=NORMAL``; PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from flowhook import codec
from flowhook.settings import Settings
from flowhook.store import raw, rollup
from flowhook.store.commit import GroupCommitter

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` as users write it and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def json_dumps(value: Any) -> str:
    """The JSON columns' encoder (``codec``: orjson, ≈10× faster on a checkpoint's state)."""
    return codec.dumps_text(value)


def make_engine(url: str, *, pool_size: int = 8, single: bool = False) -> Engine:
    """``single`` gives an engine without a pool (migrations, one-shot commands)."""
    url = normalise_url(url)
    pooling: dict[str, Any] = (
        {"poolclass": NullPool} if single else {"pool_size": pool_size, "max_overflow": pool_size}
    )
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            **pooling,
            json_serializer=json_dumps,
            connect_args={"check_same_thread": False, "timeout": 30},
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        raw.install(engine)
        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        json_serializer=json_dumps,
        **pooling,
    )
    raw.install(engine)
    return engine


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not url.startswith("sqlite"):
        return None
    path = make_url(url).database
    return Path(path) if path and path != ":memory:" else None


def writer_lock_path(url: str) -> Path | None:
    """The file whose lock takes turns between the writers of a SQLite database file."""
    path = sqlite_file(url)
    return None if path is None else path.with_name(path.name + "-writer.lock")


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # alembic is imported by what migrates only (0.2 s)

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Bring the database schema to the newest migration (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")


class Store:
    """Owns the engine and the writer thread of one process."""

    def __init__(self, settings: Settings, *, migrate: bool = True) -> None:
        self.settings = settings
        self.url = normalise_url(settings.database_url)
        if migrate:
            upgrade(self.url)
        self.engine = make_engine(self.url)
        # Reads on PostgreSQL run with the driver in autocommit mode: psycopg would open a
        # transaction with a BEGIN of its own (a round trip) and the pool would end it with
        # a ROLLBACK (another), around statements that each see the latest commits anyway
        # (READ COMMITTED). SQLite's driver opens no transaction for a read.
        self._reader: Engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self.committer = GroupCommitter(
            self.engine,
            lock_path=writer_lock_path(self.url),
            before_commit=rollup.flush,
            on_begin=rollup.reset,
        )
        self.committer.start()

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in the next group-committed transaction."""
        return await self.committer.submit(fn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` on a pooled connection in a worker thread (reads never block the loop)."""
        return await asyncio.to_thread(self.read_sync, fn)

    def read_sync(self, fn: Callable[[Connection], T]) -> T:
        with self._reader.connect() as conn:
            return fn(conn)

    def write_sync(self, fn: Callable[[Connection], T]) -> T:
        """For the CLI and start-up: a transaction of its own, outside the writer thread."""
        with self.engine.begin() as conn:
            rollup.reset(conn)
            result = fn(conn)
            rollup.flush(conn)  # what it wrote counts in the last day's figures
            return result

    def close(self) -> None:
        self.committer.stop()
        self.engine.dispose()


def is_storable_id(text: str, length: int) -> bool:
    """Whether a text can be the id of a stored row. Any other text names nothing, and
    looking it up could even fail: PostgreSQL refuses text with a NUL character."""
    return len(text) <= length and "\x00" not in text


def bind(fn: Callable[..., T], *args: Any, **kwargs: Any) -> Callable[[Connection], T]:
    """``bind(repo_fn, a, b)`` → ``conn -> repo_fn(conn, a, b)``, for write/read."""
    return lambda conn: fn(conn, *args, **kwargs)


__all__ = ["Store", "bind", "is_storable_id", "make_engine", "upgrade"]
