"""Repository functions for the attempt statistics of saved webhooks.

Reading 24 hours of a busy webhook's attempts to answer ``GET /v1/webhooks/{id}`` would
cost as much as the attempts themselves; instead each process adds what it saw to one row
per webhook and 5-minute bucket (attempts, successes, a latency histogram), and a read sums
at most 288 rows. The additions are ``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n``:
many workers add to the same row without reading it first, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, func, select

from flowhook.store.raw import Statement
from flowhook.store.tables import LATENCY_BOUNDS_MS, webhook_stats

BUCKET_S = 300
"""The width of one row's bucket, in seconds."""

_LE = [f"le_{i}" for i in range(len(LATENCY_BOUNDS_MS) + 1)]
_COLUMNS = ["attempts", "successes", *_LE]
_ADD = Statement.insert(
    "webhook_stats",
    "webhook_id bucket " + " ".join(_COLUMNS),
    suffix=" ON CONFLICT (webhook_id, bucket) DO UPDATE SET "
    + ", ".join(f"{n} = webhook_stats.{n} + excluded.{n}" for n in _COLUMNS),
)


@dataclass
class Tally:
    """What one process saw of one webhook in one bucket, not yet added to the row."""

    attempts: int = 0
    successes: int = 0
    histogram: list[int] = field(default_factory=lambda: [0] * len(_LE))

    def add(self, ok: bool, duration_ms: float) -> None:
        self.attempts += 1
        self.successes += ok
        for i, bound in enumerate(LATENCY_BOUNDS_MS):
            if duration_ms <= bound:
                self.histogram[i] += 1
                return
        self.histogram[-1] += 1


def add(conn: Connection, tallies: Iterable[tuple[str, int, Tally]]) -> None:
    """Add each (webhook, bucket, tally) to its row; in a fixed order, so that two workers
    adding to the same rows lock them in the same order (no deadlock on PostgreSQL)."""
    rows = [
        {
            "webhook_id": webhook_id,
            "bucket": bucket,
            "attempts": tally.attempts,
            "successes": tally.successes,
            **dict(zip(_LE, tally.histogram, strict=True)),
        }
        for webhook_id, bucket, tally in sorted(tallies, key=lambda t: (t[0], t[1]))
    ]
    if rows:
        _ADD.run_many(conn, rows)


def summary(conn: Connection, webhook_id: str, since: float) -> dict[str, float | int | None]:
    """Attempts, success rate and latency percentiles (the upper bound of the histogram
    bucket they fall in, in ms) of the webhook's attempts since ``since``."""
    t = webhook_stats.c
    sums = [func.coalesce(func.sum(t.attempts), 0), func.coalesce(func.sum(t.successes), 0)]
    sums += [func.coalesce(func.sum(t[name]), 0) for name in _LE]
    row = conn.execute(
        select(*sums).where(t.webhook_id == webhook_id, t.bucket >= int(since // BUCKET_S))
    ).one()
    attempts, successes, histogram = int(row[0]), int(row[1]), [int(n) for n in row[2:]]
    return {
        "attempts": attempts,
        "success_rate": round(successes / attempts, 4) if attempts else None,
        "p50_ms": _percentile(histogram, attempts, 0.50),
        "p99_ms": _percentile(histogram, attempts, 0.99),
    }


def _percentile(histogram: list[int], total: int, q: float) -> float | None:
    if not total:
        return None
    rank, seen = q * total, 0
    for i, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            # past the last bound: the longest an attempt may take (timeout_s ≤ 60)
            return float(LATENCY_BOUNDS_MS[min(i, len(LATENCY_BOUNDS_MS) - 1)])
    return None


def forget_before(conn: Connection, before: float) -> int:
    """Drop the rows of buckets that ended before ``before`` (older than any window read)."""
    t = webhook_stats.c
    gone = conn.execute(delete(webhook_stats).where(t.bucket < int(before // BUCKET_S))).rowcount
    return int(gone or 0)
