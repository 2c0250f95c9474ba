"""Waking idle workers on PostgreSQL: LISTEN/NOTIFY on one channel.

A process that leaves due work for others (an API-only process accepting a trigger, a
replayed delivery) adds ``pg_notify`` to the transaction that stores it; PostgreSQL sends
the notification at commit (one per transaction, however many rows) and every listening
worker claims at once instead of at its next poll. Polling stays the safety net, and
SQLite (one process) needs none of this.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from flowhook.logging import get_logger
from flowhook.store.raw import Statement

log = get_logger(__name__)

CHANNEL = "flowhook_work"
_NOTIFY = Statement(f"SELECT pg_notify('{CHANNEL}', '')")


_SENT = "flowhook_notified"
"""``conn.info`` key: the transaction in which ``pg_notify`` was already called."""


def notify(conn: Connection) -> None:
    """Tell listening workers that due work was stored (sent when the transaction commits).

    Once per transaction: a group commit holds many writes that each store due work (every
    trigger accepted by an API-only process), and PostgreSQL sends one notification per
    transaction anyway, so the second ``pg_notify`` would only cost a round trip."""
    if conn.dialect.name != "postgresql":
        return
    transaction = conn.get_transaction()
    if transaction is not None and conn.info.get(_SENT) is transaction:
        return
    _NOTIFY.later(conn, {})  # with the transaction's other statements: no round trip of its own
    conn.info[_SENT] = transaction


def libpq_url(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Listener:
    """A thread that LISTENs and calls ``on_notify`` (thread-safe) for each notification."""

    def __init__(self, sqlalchemy_url: str, on_notify: Callable[[], None]) -> None:
        self._dsn = libpq_url(sqlalchemy_url)
        self._on_notify = on_notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flowhook-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg  # PostgreSQL only: SQLite processes never load the driver (0.2 s)

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._on_notify()  # work may have been stored while we were not listening
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5):
                            self._on_notify()
            except psycopg.Error as exc:
                log.warning("listening for work failed; retrying", error=str(exc))
                with contextlib.suppress(Exception):
                    self._stop.wait(1.0)
