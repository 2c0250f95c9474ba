"""Group commit: one writer thread commits the work of every concurrent caller in one
transaction; each caller awaits its own result.

This is the whole game for durable speed (design notes §3): 100 executions checkpointing
at once cost one fsync, not 100. A write is a plain function ``fn(conn) -> T`` run inside
the batch's transaction. If a batch fails, its writes are retried one by one so that one
bad write fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import queue
import threading
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from flowhook.logging import get_logger
from flowhook.store.raw import BEGIN, COMMIT, flush, verify

T = TypeVar("T")
Write = Callable[[Connection], Any]
# Run last inside each transaction, and at the start of each try (a batch run again must
# not keep what its rolled-back try left behind): store/rollup.py's flush and reset.
Hook = Callable[[Connection], None]
# Run once the write is committed, with its result (a wake-up, a metric): never inside the
# transaction, so that it cannot undo or slow the commit.
AfterCommit = Callable[[Any], None]

log = get_logger(__name__)

_STOP = object()


_BUCKETS_PER_OCTAVE = 4
_BUCKETS = 26 * _BUCKETS_PER_OCTAVE  # 1 µs … 2^26 µs (67 s); longer ones in the last


# bucket ``i`` holds durations up to ``2 ** (i / 4)`` µs; the upper bounds in seconds, all
# but the last bucket's (it takes the rest)
_EDGES_S = tuple(2 ** (i / _BUCKETS_PER_OCTAVE) / 1e6 for i in range(_BUCKETS - 1))


def _bucket(seconds: float) -> int:
    """A duration's bucket: a quarter of a binary order of magnitude of microseconds
    (bucket ``i`` holds durations up to ``2 ** (i / 4)`` µs, a 19 % step). A binary search
    on the precomputed bounds: fed per write, it cost twice as much as a ``log2``."""
    return bisect_left(_EDGES_S, seconds)


class Durations:
    """A cumulative histogram of durations in logarithmic buckets: cheap enough to feed
    per write on the writer thread (a log and an index), and two readings subtract into
    the distribution of what happened between them (``bucket_upper_ms``)."""

    __slots__ = ("count", "counts", "total_s")

    def __init__(self) -> None:
        self.count = 0
        self.total_s = 0.0
        self.counts = [0] * _BUCKETS

    def add(self, seconds: float) -> None:
        self.count += 1
        self.total_s += seconds
        self.counts[bisect_left(_EDGES_S, seconds)] += 1

    def reading(self) -> dict[str, Any]:
        return {"count": self.count, "total_s": self.total_s, "buckets": list(self.counts)}


def bucket_upper_ms(index: int) -> float:
    """The longest duration bucket ``index`` of a ``Durations`` reading holds, in ms."""
    return float(2 ** (index / _BUCKETS_PER_OCTAVE)) / 1000


class CommitStats:
    """What the group commit did since the process started, for ``make bench``: how many
    writes each transaction carried, how long a write waited for its batch to begin, how
    long a batch took (its statements and the commit's fsync), and how long the callers'
    event loop took to take the results back after the commit (the writer → loop wake-up).

    Written by the writer thread and, for the wake-ups, by the callers' loops; read as a
    whole by ``reading``. Plain counters: a reading taken while a batch is being counted
    may be one batch off, which a benchmark window of thousands does not see."""

    def __init__(self) -> None:
        self.batch_sizes: Counter[int] = Counter()
        self.queue_wait = Durations()
        self.commit = Durations()
        self.handback = Durations()

    def reading(self) -> dict[str, Any]:
        return {
            "batch_sizes": {str(k): v for k, v in sorted(self.batch_sizes.items())},
            "queue_wait": self.queue_wait.reading(),
            "commit": self.commit.reading(),
            "handback": self.handback.reading(),
        }


class _Item:
    __slots__ = ("fn", "future", "loop", "queued_at")

    def __init__(self, fn: Write, future: asyncio.Future[Any], loop: asyncio.AbstractEventLoop):
        self.fn = fn
        self.future = future
        self.loop = loop
        self.queued_at = time.perf_counter()


_Settled = tuple[_Item, Any, "BaseException | None"]


def _settle(outcomes: list[_Settled], stats: CommitStats, committed_at: float) -> None:
    stats.handback.add(time.perf_counter() - committed_at)
    for item, result, error in outcomes:
        if item.future.done():  # the caller gave up waiting (cancelled)
            continue
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result(result)


def _resolve(outcomes: list[_Settled], stats: CommitStats) -> None:
    """Hand the outcomes to their event loops: one wake-up per loop and batch, not one per
    write (each wake-up is a write to the loop's self-pipe and a read on the other side)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Settled]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome[0].loop, []).append(outcome)
    committed_at = time.perf_counter()
    for loop, settled in by_loop.items():
        # a closed loop means the caller is gone and nobody waits for the result any more
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, settled, stats, committed_at)


class GroupCommitter:
    """The single writer of one process."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_batch: int = 1000,
        retries: int = 5,
        lock_path: Path | None = None,
        before_commit: Hook | None = None,
        on_begin: Hook | None = None,
    ) -> None:
        self._engine = engine
        self._before_commit = before_commit
        self._on_begin = on_begin
        self._lock_path = lock_path
        self._lock_fd: int | None = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._max_batch = max_batch
        self._retries = retries
        self._writer = threading.Thread(target=self._run, name="flowhook-writer", daemon=True)
        self._pipelined = engine.dialect.name == "postgresql"
        self._started = False
        self.transactions = 0
        self.writes = 0
        self.conflicts = 0  # batches rolled back and run again (lock or connection trouble)
        self.stats = CommitStats()

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._writer.start()

    def stop(self) -> None:
        if self._started:
            self._queue.put(_STOP)
            self._writer.join(timeout=10)
            self._started = False

    async def submit(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in the next batch's transaction; return once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Item(fn, future, loop))
        return await future

    def _connect(self) -> Connection:
        """The writer's connection. On PostgreSQL the driver is in autocommit mode and the
        group commit sends ``BEGIN`` and ``COMMIT`` itself, queued with the batch's first
        and last statements (``_transaction``): psycopg's own implicit ``BEGIN`` waits for
        its answer alone, even in pipeline mode, and its ``COMMIT`` is one more round trip.
        The pool sets the isolation level back when the connection returns to it."""
        conn = self._engine.connect()
        if self._pipelined:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    def _run(self) -> None:
        conn = self._connect()
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                batch = [first]
                stop = False
                while len(batch) < self._max_batch:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is _STOP:
                        stop = True
                        break
                    batch.append(nxt)
                conn = self._commit(conn, batch)
                if stop:
                    return
        finally:
            conn.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _take_turn(self, lock_path: Path) -> int:
        """With ``lock_path`` (a SQLite file that several processes write): wait for this
        process's turn on an exclusive file lock; the descriptor to unlock. The kernel wakes
        the next writer as soon as the lock is free, where SQLite's own busy handler sleeps
        and polls, and a transaction that read before it wrote cannot lose the race to
        upgrade and be retried."""
        if self._lock_fd is None:
            self._lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        return self._lock_fd

    def _commit(self, conn: Connection, batch: list[_Item]) -> Connection:
        stats = self.stats
        began = time.perf_counter()
        add_wait = stats.queue_wait.add
        for item in batch:
            add_wait(began - item.queued_at)
        for attempt in range(self._retries):
            try:
                results = self._transaction(conn, batch)
                self.transactions += 1
                self.writes += len(batch)
                stats.commit.add(time.perf_counter() - began)
                stats.batch_sizes[len(batch)] += 1
                _resolve(
                    [(item, res, None) for item, res in zip(batch, results, strict=True)], stats
                )
                return conn
            except OperationalError as exc:  # busy/locked/deadlock/connection lost: retry all
                self.conflicts += 1
                log.warning("group commit retry", attempt=attempt, error=str(exc.orig))
                conn = self._reconnect(conn)
            except Exception:
                conn = self._reconnect(conn)
                break
        self._commit_one_by_one(conn, batch)
        return conn

    def _commit_one_by_one(self, conn: Connection, batch: list[_Item]) -> None:
        outcomes: list[_Settled] = []
        for item in batch:
            try:
                result = self._transaction(conn, [item])[0]
                self.transactions += 1
                self.writes += 1
                outcomes.append((item, result, None))
            except Exception as exc:
                if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                    conn = self._reconnect(conn)
                outcomes.append((item, None, exc))
        _resolve(outcomes, self.stats)

    def _transaction(self, conn: Connection, batch: list[_Item]) -> list[Any]:
        """One try of a batch (or of one write); the writes' results once committed. The
        writer's turn, the transaction, the hooks at its edges, and the statements still
        queued sent before the commit, so that a write the database refuses only then fails
        inside the transaction and rolls the batch back. On PostgreSQL ``BEGIN`` goes with
        the first statements and ``COMMIT`` with the queued last ones (``_connect``): a
        batch of writes whose results nobody reads is one round trip.

        Plain ``try`` blocks, not context managers: this runs once per group commit, and
        two generator-based ``with`` blocks were a fifth of its Python work. The edges are
        those of ``with conn.begin()``: any exception in the block or in the commit rolls
        the transaction back and propagates; the writer's turn ends either way."""
        lock_fd = None if self._lock_path is None else self._take_turn(self._lock_path)
        try:
            trans = conn.begin()
            try:
                if self._pipelined:
                    BEGIN.later(conn, {})
                if self._on_begin is not None:
                    self._on_begin(conn)
                results = [item.fn(conn) for item in batch]
                if self._before_commit is not None:
                    self._before_commit(conn)
                verify(conn)  # a write's required row count (a lost lease) rolls it back
                if self._pipelined:
                    COMMIT.later(conn, {})
                flush(conn)
                trans.commit()
            except BaseException:
                trans.rollback()
                raise
            return results
        finally:
            if lock_fd is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)

    def _reconnect(self, conn: Connection) -> Connection:
        try:
            if conn.in_transaction():
                conn.rollback()
            return conn
        except Exception:
            conn.close()
            return self._connect()
