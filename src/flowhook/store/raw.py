"""Hot statements run on the driver's own connection, inside the group commit's transaction.

Every flow runs the same few writes (insert the execution, checkpoint it, finish it with its
delivery row, log the delivery's attempt). Through SQLAlchemy's execution path each of them
cost ~40 µs of Python (compiled-cache lookup, parameter processing, an execution context,
result wrapping) for a statement SQLite runs in 5; the writer thread was half of the
process's CPU (docs/performance.md). These statements are written once in SQL, with
``:name`` parameters, and handed to the driver as they are: sqlite3 takes ``:name``, psycopg
gets ``%(name)s``. Both drivers cache their prepared statements.

Only the hot path belongs here; everything else keeps SQLAlchemy Core.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


class Statement:
    """One SQL text for both engines; ``:name`` parameters."""

    __slots__ = ("postgresql", "sqlite")

    def __init__(self, sql: str) -> None:
        self.sqlite = sql
        self.postgresql = _NAMED.sub(r"%(\1)s", sql)

    @classmethod
    def insert(cls, table: str, columns: str, *, suffix: str = "") -> Statement:
        """``INSERT INTO table (a, b) VALUES (:a, :b)`` for space-separated ``columns``."""
        names = columns.split()
        return cls(
            f"INSERT INTO {table} ({', '.join(names)})"
            f" VALUES ({', '.join(':' + n for n in names)}){suffix}"
        )

    def _text(self, conn: Connection) -> str:
        return self.sqlite if conn.dialect.name == "sqlite" else self.postgresql

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Execute once; the number of rows it changed."""
        cur = _driver(conn).execute(self._text(conn), params)
        try:
            return int(cur.rowcount)
        finally:
            cur.close()

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Execute once; the first row it returned."""
        cur = _driver(conn).execute(self._text(conn), params)
        try:
            row = cur.fetchone()
        finally:
            cur.close()
        return tuple(row) if row is not None else None

    def run_many(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        if len(params) == 1:
            self.run(conn, params[0])
            return
        cur = _driver(conn).cursor()
        try:
            cur.executemany(self._text(conn), params)
        finally:
            cur.close()


def _driver(conn: Connection) -> Any:
    """The DBAPI connection under ``conn``, in ``conn``'s transaction (both drivers begin
    one implicitly at the first statement; SQLAlchemy commits or rolls it back)."""
    return conn.connection.driver_connection
