"""Waking idle workers on PostgreSQL: LISTEN/NOTIFY on one channel.

A process that leaves due work for others (an API-only process accepting a trigger, a
replayed delivery) adds ``pg_notify`` to the transaction that stores it; PostgreSQL sends
the notification at commit (one per transaction and kind, however many rows) and every
listening worker claims at once instead of at its next poll. The payload says which kind
of work was stored (``Work``), so that a worker runs that claim only, not all three (each
a transaction on the writer). Polling stays the safety net, and SQLite (one process)
needs none of this.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from enum import StrEnum

from sqlalchemy import Connection
from sqlalchemy.engine import make_url

from flowhook.logging import get_logger
from flowhook.store.raw import Statement

log = get_logger(__name__)

CHANNEL = "flowhook_work"
_NOTIFY = Statement(f"SELECT pg_notify('{CHANNEL}', :work)")


class Work(StrEnum):
    """What kind of due work a notification announces (its payload): the claim to run."""

    EXECUTIONS = "executions"
    DELIVERIES = "deliveries"
    JOBS = "jobs"


_SENT = "flowhook_notified"
"""``conn.info`` key: the transaction in which ``pg_notify`` was called, and for which kinds."""


def notify(conn: Connection, work: Work | None = None) -> None:
    """Tell listening workers that due ``work`` was stored (sent when the transaction
    commits); None: of any kind (every claim runs).

    Once per transaction and kind: a group commit holds many writes that each store due
    work (every trigger accepted by an API-only process), and PostgreSQL sends one
    notification per transaction and payload anyway."""
    if conn.dialect.name != "postgresql":
        return
    transaction = conn.get_transaction()
    sent: tuple[object, set[Work | None]] | None = conn.info.get(_SENT)
    if sent is None or sent[0] is not transaction:
        sent = conn.info[_SENT] = (transaction, set())
    if work in sent[1]:
        return
    # with the transaction's other statements: no round trip of its own
    _NOTIFY.later(conn, {"work": work.value if work is not None else ""})
    sent[1].add(work)


def libpq_url(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class Listener:
    """A thread that LISTENs and calls ``on_notify`` (thread-safe) with each notification's
    payload (a ``Work``; "" when any kind may be due: on (re)connecting)."""

    def __init__(self, sqlalchemy_url: str, on_notify: Callable[[str], None]) -> None:
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
                    self._on_notify("")  # work may have been stored while we were not listening
                    while not self._stop.is_set():
                        for notification in conn.notifies(timeout=0.5):
                            self._on_notify(notification.payload)
            except psycopg.Error as exc:
                log.warning("listening for work failed; retrying", error=str(exc))
                with contextlib.suppress(Exception):
                    self._stop.wait(1.0)
