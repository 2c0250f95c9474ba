"""Hot statements run on the driver's own connection, inside the group commit's transaction.

Every flow runs the same few writes (insert the execution, checkpoint it, finish it with its
delivery row, log the delivery's attempt). Through SQLAlchemy's execution path each of them
cost ~40 µs of Python (compiled-cache lookup, parameter processing, an execution context,
result wrapping) for a statement SQLite runs in 5; the writer thread was half of the
process's CPU (docs/performance.md). These statements are written once in SQL, with
``:name`` parameters, and handed to the driver as they are: sqlite3 takes ``:name``, psycopg
gets ``%(name)s``. Both drivers cache their prepared statements.

Only the hot path belongs here; everything else keeps SQLAlchemy Core.

A write whose result nobody reads (the trigger's insert, an attempt's log and update, the
wake-up of other workers) is queued with ``later`` instead of run: the queue is sent before
the next statement on the connection, or before its commit, all at once — in one round trip
on PostgreSQL (psycopg's pipeline mode, ``executemany`` for a run of the same statement),
in one ``executemany`` per run of the same statement on SQLite. A group commit of 50 triggers
then costs PostgreSQL two round trips (the inserts, the commit) instead of 52. What it may
change: a failing queued write raises at the next statement or at the commit, not where it
was queued — inside the group commit's transaction either way, which then runs its writes
one by one, so the failure still belongs to the write that queued it. ``install`` hooks the
queue to the engine's statements, commits and rollbacks.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, event

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


class Statement:
    """One SQL text for both engines; ``:name`` parameters. ``skip_locked`` ends a claim's
    select with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (rows another worker is claiming
    are passed over); SQLite has one writer at a time, so the select is exclusive there."""

    __slots__ = ("postgresql", "sqlite")

    def __init__(self, sql: str, *, skip_locked: bool = False) -> None:
        self.sqlite = sql
        self.postgresql = _NAMED.sub(r"%(\1)s", sql) + (
            " FOR UPDATE SKIP LOCKED" if skip_locked else ""
        )

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

    def later(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Execute before the next statement or the commit on ``conn``, together with the
        other queued ones (see the module's docstring): for writes whose result is not read."""
        _queue(conn).append((self, params, None))

    def counted_later(self, conn: Connection, params: Mapping[str, Any]) -> Counted:
        """As ``later``, for a write whose row count is read afterwards: ``Counted.value``
        (which sends the queue if nothing has sent it yet)."""
        counted = Counted(conn)
        _queue(conn).append((self, params, counted))
        _answer_now_on_sqlite(conn)
        return counted

    def first_later(self, conn: Connection, params: Mapping[str, Any]) -> Returned:
        """As ``later``, for a write whose first returned row is read afterwards:
        ``Returned.value`` (once the queue is sent: with the commit, at the latest)."""
        returned = Returned(conn)
        _queue(conn).append((self, params, returned))
        _answer_now_on_sqlite(conn)
        return returned

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Execute once (with what is queued on ``conn``); the number of rows it changed."""
        cur = _execute(conn, self, params)
        try:
            return int(cur.rowcount)
        finally:
            cur.close()

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Execute once (with what is queued on ``conn``); the first row it returned."""
        cur = _execute(conn, self, params)
        try:
            row = cur.fetchone()
        finally:
            cur.close()
        return tuple(row) if row is not None else None

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute once (with what is queued on ``conn``); the rows it returned."""
        cur = _execute(conn, self, params)
        try:
            return [tuple(row) for row in cur.fetchall()]
        finally:
            cur.close()

    def run_many(self, conn: Connection, params: Sequence[Mapping[str, Any]]) -> None:
        if len(params) == 1:
            self.run(conn, params[0])
            return
        flush(conn)
        cur = _driver(conn).cursor()
        try:
            cur.executemany(self._text(conn), params)
        finally:
            cur.close()


# Sent by the group commit on PostgreSQL, whose writer's driver is in autocommit mode
# (store/commit.py): queued, they go in the pipelines of the batch's first and last statements.
BEGIN = Statement("BEGIN")
COMMIT = Statement("COMMIT")


def _driver(conn: Connection) -> Any:
    """The DBAPI connection under ``conn``, in ``conn``'s transaction (both drivers begin
    one implicitly at the first statement; SQLAlchemy commits or rolls it back)."""
    return conn.connection.driver_connection


class Counted:
    """The row count of a write queued with ``Statement.counted_later``."""

    __slots__ = ("_conn", "rowcount")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.rowcount: int | None = None

    def value(self) -> int:
        if self.rowcount is None:
            flush(self._conn)
        if self.rowcount is None:
            raise RuntimeError("the queued write was dropped (its transaction rolled back)")
        return self.rowcount

    def require(self, error: Exception) -> None:
        """Raise ``error`` before the transaction commits if the write changed no row (a
        lost lease): checked by ``verify``, once the queue is sent, not now, so that the
        writes queued after this one go in the same round trip. The raise rolls the
        transaction back (the group commit then runs its writes one by one, and this one
        fails alone with ``error``)."""
        checks: list[tuple[Counted, Exception]] | None = self._conn.info.get(_CHECKS)
        if checks is None:
            self._conn.info[_CHECKS] = checks = []
        checks.append((self, error))

    def _take(self, cur: Any) -> None:
        self.rowcount = int(cur.rowcount)


class Returned:
    """The first row a write queued with ``Statement.first_later`` returned (None: none)."""

    __slots__ = ("_conn", "_row", "_sent")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._sent = False
        self._row: tuple[Any, ...] | None = None

    def value(self) -> tuple[Any, ...] | None:
        """The row; inside the transaction, sends the queue first if nothing has yet."""
        if not self._sent:
            flush(self._conn)
        if not self._sent:
            raise RuntimeError("the queued write was dropped (its transaction rolled back)")
        return self._row

    def _take(self, cur: Any) -> None:
        row = cur.fetchone()
        self._row = tuple(row) if row is not None else None
        self._sent = True


_Queued = tuple[Statement, Mapping[str, Any], Counted | Returned | None]
_LATER = "flowhook_later"
"""``conn.info`` key: the statements queued by ``Statement.later`` on that connection."""
_CHECKS = "flowhook_checks"
"""``conn.info`` key: the row counts that must not be 0 at the commit (``Counted.require``)."""


def verify(conn: Connection) -> None:
    """Before the commit: send what is queued if a check needs it, and raise the error of
    the first required write that changed no row (``Counted.require``)."""
    checks: list[tuple[Counted, Exception]] | None = conn.info.pop(_CHECKS, None)
    if checks:
        for counted, error in checks:
            if not counted.value():
                raise error


def _answer_now_on_sqlite(conn: Connection) -> None:
    """On SQLite a write whose answer is read later is sent at once, with what is queued
    before it: there is no round trip to save, and each such write holds a cursor open until
    the queue is sent. A group commit under overload queued hundreds of them until its
    commit (the finishes, which read nothing mid-transaction since their lease check
    became ``Counted.require``): ``make bench``'s open-loop point at 640 flows/s fell from
    476 to 162-243 flows/s at 2-4 x the CPU per flow and 1.5 x the memory."""
    if conn.dialect.name == "sqlite":
        flush(conn)


def _queue(conn: Connection) -> list[_Queued]:
    queued: list[_Queued] | None = conn.info.get(_LATER)
    if queued is None:
        conn.info[_LATER] = queued = []
    return queued


def flush(conn: Connection) -> None:
    """Send the statements queued on ``conn`` (``Statement.later``)."""
    queued: list[_Queued] | None = conn.info.pop(_LATER, None)
    if queued:
        _send(conn, queued, None).close()


def _execute(conn: Connection, statement: Statement, params: Mapping[str, Any]) -> Any:
    """Run ``statement`` after what is queued on ``conn``, in the same round trip on
    PostgreSQL; its cursor, for the caller to read and close."""
    queued: list[_Queued] | None = conn.info.pop(_LATER, None)
    if queued:
        return _send(conn, queued, (statement, params))
    return _driver(conn).execute(statement._text(conn), params)


def _send(
    conn: Connection, queued: list[_Queued], last: tuple[Statement, Mapping[str, Any]] | None
) -> Any:
    """The queued statements, a run of one statement as one ``executemany``, then ``last``:
    in one pipeline (one round trip) on PostgreSQL. The cursor of ``last`` (or of the
    queued ones), read once the pipeline is through; the row counts of the counted ones."""
    runs: list[tuple[Statement, list[Mapping[str, Any]], Counted | Returned | None]] = []
    for statement, params, counted in queued:
        if runs and runs[-1][0] is statement and counted is None and runs[-1][2] is None:
            runs[-1][1].append(params)
        else:
            runs.append((statement, [params], counted))
    driver = _driver(conn)
    postgres = conn.dialect.name != "sqlite"
    counting: list[tuple[Counted | Returned, Any]] = []
    with driver.pipeline() if postgres else contextlib.nullcontext():
        cur = driver.cursor()
        try:
            for statement, many, counted in runs:
                text = statement.postgresql if postgres else statement.sqlite
                if counted is not None:
                    own = driver.cursor()
                    own.execute(text, many[0])
                    counting.append((counted, own))
                elif len(many) == 1:
                    cur.execute(text, many[0])
                else:
                    cur.executemany(text, many)
        finally:
            if last is not None:
                cur.close()
        if last is not None:
            cur = driver.cursor()
            cur.execute(last[0].postgresql if postgres else last[0].sqlite, last[1])
    for counted, own in counting:  # the pipeline is through: every count and row is in
        try:
            counted._take(own)
        finally:
            own.close()
    return cur


def install(engine: Engine) -> None:
    """Send the queued statements before any other statement runs on the connection and
    before its commit; drop them with a rollback."""

    @event.listens_for(engine, "before_execute")
    def _before(conn: Connection, *_args: Any) -> None:
        if _LATER in conn.info:
            flush(conn)

    @event.listens_for(engine, "commit")
    def _commit(conn: Connection) -> None:
        # the group commit flushes inside its transaction block; this is the safety net of
        # other transactions. Raising here leaves the driver's transaction open, so it is
        # rolled back first: nothing of the failed transaction may reach a later commit.
        if _LATER in conn.info or _CHECKS in conn.info:
            try:
                flush(conn)
                verify(conn)
            except BaseException:
                _driver(conn).rollback()
                raise

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Connection) -> None:
        conn.info.pop(_LATER, None)
        conn.info.pop(_CHECKS, None)
