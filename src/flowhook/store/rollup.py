"""The last day's activity rolled up as it happens: the figures of the console's home page
and of a webhook's chart (``usecases/overview.py``, ``usecases/activity.py``), read at a
constant cost however many executions and deliveries the tables hold.

The repository functions that start or finish an execution, create or finish a delivery
and log an attempt *note* it here; the notes gather in the transaction's connection and
are added to the roll-up rows once, just before the transaction commits (the group
commit's ``before_commit``, ``Store.write_sync``): one upsert per table and group commit,
not one per row. They commit with the rows they count, or roll back with them.

Two tables, one row per (account, 5-minute bucket) and per (webhook, minute): counts and a
small fixed latency histogram each (the percentiles are read from it: see ``percentile``).
Each process adds to rows of its own ``shard`` (its pid modulo ``SHARDS``) with
``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n``: workers never read-modify-write
a row, so no increment is lost, and two workers' commits rarely wait on the same row lock.
A read sums at most 288 × SHARDS (home) or 1,440 × SHARDS (chart) rows.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, func, select

from flowhook.store.raw import Returned, Statement
from flowhook.store.tables import (
    ACTIVITY_BUCKET_S,
    ATTEMPT_BOUNDS_MS,
    DURATION_BOUNDS_S,
    account_activity,
    webhook_activity,
)

SHARDS = 4
MINUTE_S = 60
_NOTES = "flowhook.rollup"

_EX = [f"ex_le_{i}" for i in range(len(DURATION_BOUNDS_S) + 1)]
_AT = [f"at_le_{i}" for i in range(len(ATTEMPT_BOUNDS_MS) + 1)]
_ACCOUNT_COUNTS = [
    "executions_started",
    "executions_completed",
    "executions_failed",
    "deliveries_created",
    "deliveries_succeeded",
    "deliveries_failed",
    "attempts",
    "attempts_ok",
]
_ACCOUNT_COLUMNS = [*_ACCOUNT_COUNTS, *_EX, *_AT]
_WEBHOOK_COUNTS = ["attempts", "attempts_ok", "deliveries_failed"]
_WEBHOOK_COLUMNS = [*_WEBHOOK_COUNTS, *_AT]


def _upsert(table: str, keys: str, columns: list[str]) -> Statement:
    return Statement.insert(
        table,
        keys + " " + " ".join(columns),
        suffix=f" ON CONFLICT ({', '.join(keys.split())}) DO UPDATE SET "
        + ", ".join(f"{n} = {table}.{n} + excluded.{n}" for n in columns),
    )


_ADD_ACCOUNT = _upsert("account_activity", "account_id bucket shard", _ACCOUNT_COLUMNS)
_ADD_WEBHOOK = _upsert("webhook_activity", "webhook_id minute shard", _WEBHOOK_COLUMNS)


def _slot(bounds: tuple[float, ...], value: float) -> int:
    """The histogram bucket of ``value``: the first whose upper bound is not below it."""
    return bisect_left(bounds, value)


@dataclass
class Notes:
    """What one transaction did, per roll-up row, not yet added."""

    accounts: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)
    webhooks: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)
    created: list[tuple[Returned, str, float]] = field(default_factory=list)
    """Deliveries whose insert is queued: counted at the flush if it inserted a row."""

    def account(self, account_id: str, at: float) -> dict[str, int]:
        key = (account_id, int(at // ACTIVITY_BUCKET_S))
        row = self.accounts.get(key)
        if row is None:
            row = self.accounts[key] = dict.fromkeys(_ACCOUNT_COLUMNS, 0)
        return row

    def webhook(self, webhook_id: str, at: float) -> dict[str, int]:
        key = (webhook_id, int(at // MINUTE_S))
        row = self.webhooks.get(key)
        if row is None:
            row = self.webhooks[key] = dict.fromkeys(_WEBHOOK_COLUMNS, 0)
        return row


def _notes(conn: Connection) -> Notes:
    notes = conn.info.get(_NOTES)
    if notes is None:
        notes = conn.info[_NOTES] = Notes()
    return notes


# noting, inside the transaction that writes the rows ----------------------------------------
def execution_started(conn: Connection, account_id: str, at: float) -> None:
    _notes(conn).account(account_id, at)["executions_started"] += 1


def execution_finished(
    conn: Connection, account_id: str, at: float, *, completed: bool, duration_s: float
) -> None:
    row = _notes(conn).account(account_id, at)
    row["executions_completed" if completed else "executions_failed"] += 1
    row[_EX[_slot(DURATION_BOUNDS_S, duration_s)]] += 1


def delivery_created(conn: Connection, account_id: str, at: float, count: int = 1) -> None:
    _notes(conn).account(account_id, at)["deliveries_created"] += count


def delivery_created_if(conn: Connection, inserted: Returned, account_id: str, at: float) -> None:
    """A delivery created if its queued insert (``Statement.first_later``) returns a row
    (an insert of an id that exists returns none): read at the flush, which sends the
    queue first if nothing has sent it yet."""
    _notes(conn).created.append((inserted, account_id, at))


def delivery_finished(
    conn: Connection, account_id: str, webhook_id: str | None, at: float, *, succeeded: bool
) -> None:
    _notes(conn).account(account_id, at)[
        "deliveries_succeeded" if succeeded else "deliveries_failed"
    ] += 1
    if webhook_id is not None and not succeeded:
        _notes(conn).webhook(webhook_id, at)["deliveries_failed"] += 1


def attempt(
    conn: Connection,
    account_id: str,
    webhook_id: str | None,
    at: float,
    *,
    ok: bool,
    duration_ms: float,
) -> None:
    notes = _notes(conn)
    le = _AT[_slot(ATTEMPT_BOUNDS_MS, duration_ms)]
    rows = [notes.account(account_id, at)]
    if webhook_id is not None:
        rows.append(notes.webhook(webhook_id, at))
    for row in rows:
        row["attempts"] += 1
        row["attempts_ok"] += ok
        row[le] += 1


# the transaction's edges ----------------------------------------------------------------------
def reset(conn: Connection) -> None:
    """Forget the notes of a transaction that did not commit (a batch run again)."""
    conn.info.pop(_NOTES, None)


def flush(conn: Connection) -> None:
    """Add the transaction's notes to their rows, last thing before the commit: the rows'
    locks (PostgreSQL) are held only for the commit itself, taken in a fixed order (no
    deadlock between two workers adding to the same rows)."""
    notes: Notes | None = conn.info.get(_NOTES)
    if notes is None:
        return
    for inserted, account_id, at in notes.created:  # one round trip for all, if any
        if inserted.value() is not None:
            notes.account(account_id, at)["deliveries_created"] += 1
    conn.info.pop(_NOTES, None)
    shard = os.getpid() % SHARDS
    # queued: sent with the commit (one pipeline with it on PostgreSQL, one executemany
    # per table on SQLite), and a refusal still rolls the transaction back
    for (a, b), row in sorted(notes.accounts.items()):
        _ADD_ACCOUNT.later(conn, {"account_id": a, "bucket": b, "shard": shard, **row})
    for (w, m), row in sorted(notes.webhooks.items()):
        _ADD_WEBHOOK.later(conn, {"webhook_id": w, "minute": m, "shard": shard, **row})


# reading ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountDay:
    """An account's counts since a time, with the two histograms."""

    counts: dict[str, int]
    durations: list[int]  # executions finished, per DURATION_BOUNDS_S bucket
    latencies: list[int]  # attempts, per ATTEMPT_BOUNDS_MS bucket


def account_since(conn: Connection, account_id: str, since: float) -> AccountDay:
    """Sums of the account's rows whose bucket holds ``since`` or is later (the window is
    the buckets', so up to 5 minutes longer than asked)."""
    t = account_activity.c
    row = conn.execute(
        select(*[func.coalesce(func.sum(t[n]), 0) for n in _ACCOUNT_COLUMNS]).where(
            t.account_id == account_id, t.bucket >= int(since // ACTIVITY_BUCKET_S)
        )
    ).one()
    values = dict(zip(_ACCOUNT_COLUMNS, (int(v) for v in row), strict=True))
    return AccountDay(
        counts={n: values[n] for n in _ACCOUNT_COUNTS},
        durations=[values[n] for n in _EX],
        latencies=[values[n] for n in _AT],
    )


@dataclass(frozen=True)
class WebhookMinute:
    minute: int  # epoch minutes
    attempts: int
    succeeded: int


def webhook_minutes(conn: Connection, webhook_id: str, since: float) -> list[WebhookMinute]:
    """The webhook's minutes since ``since`` that had attempts, oldest first."""
    t = webhook_activity.c
    rows = conn.execute(
        select(t.minute, func.sum(t.attempts), func.sum(t.attempts_ok))
        .where(t.webhook_id == webhook_id, t.minute >= int(since // MINUTE_S))
        .group_by(t.minute)
        .order_by(t.minute)
    )
    return [WebhookMinute(int(r[0]), int(r[1]), int(r[2])) for r in rows if r[1]]


def webhook_latencies(conn: Connection, webhook_id: str, since: float) -> list[int]:
    """The webhook's attempt-latency histogram since ``since``, summed by the database
    (one row back, not one per minute)."""
    t = webhook_activity.c
    row = conn.execute(
        select(*[func.coalesce(func.sum(t[n]), 0) for n in _AT]).where(
            t.webhook_id == webhook_id, t.minute >= int(since // MINUTE_S)
        )
    ).one()
    return [int(v) for v in row]


def webhook_failures(
    conn: Connection, webhook_ids: list[str], since: float
) -> dict[str, tuple[int, int]]:
    """(failed attempts, dead letters) of each webhook since ``since``."""
    if not webhook_ids:
        return {}
    t = webhook_activity.c
    rows = conn.execute(
        select(
            t.webhook_id,
            func.sum(t.attempts - t.attempts_ok),
            func.sum(t.deliveries_failed),
        )
        .where(t.webhook_id.in_(webhook_ids), t.minute >= int(since // MINUTE_S))
        .group_by(t.webhook_id)
    )
    return {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in rows}


def percentile(bounds: tuple[float, ...], histogram: list[int], q: float) -> float | None:
    """The ``q`` quantile of a histogram (None when empty), interpolated linearly inside
    its bucket: off by at most that bucket's width (see the bounds in ``store/tables.py``).
    Past the last bound it is the last bound (a lower limit)."""
    total = sum(histogram)
    if not total:
        return None
    rank = q * total
    seen = 0.0
    for i, count in enumerate(histogram):
        if count and seen + count >= rank:
            if i >= len(bounds):
                return float(bounds[-1])
            low = float(bounds[i - 1]) if i else 0.0
            return low + (float(bounds[i]) - low) * max(0.0, rank - seen) / count
        seen += count
    return float(bounds[-1])


def forget_before(conn: Connection, before: float) -> int:
    """Drop the rows older than ``before`` (no window reads them)."""
    gone = conn.execute(
        delete(account_activity).where(account_activity.c.bucket < int(before // ACTIVITY_BUCKET_S))
    ).rowcount
    gone += conn.execute(
        delete(webhook_activity).where(webhook_activity.c.minute < int(before // MINUTE_S))
    ).rowcount
    return int(gone or 0)
