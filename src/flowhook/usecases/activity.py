"""The last 24 hours at a glance: the console's home (executions and deliveries: counts,
failures, p50/p99 latency) and a webhook's chart (attempts per minute, success rate,
p50/p99 response time). The API serves the same figures (``GET /v1/activity``,
``GET /v1/webhooks/{id}/activity``).

Only the window's rows are read, through an index that starts with the account (or the
webhook) and the time; the sums and percentiles are taken here, in Python, as SQLite has no
percentile function and the window is small beside the table.

Latency means: for an execution, from its creation to its end; for a delivery, from its
creation to its final outcome (retries included); for a webhook's attempt, the receiver's
response time.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.runtime import Runtime
from flowhook.store import activity as activity_repo
from flowhook.store.activity import Finished
from flowhook.usecases import webhooks

WINDOW_S = 24 * 3600.0
MINUTE_S = 60.0


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of sorted ``values`` (None when there are none)."""
    if not values:
        return None
    rank = max(1, math.ceil(share * len(values)))
    return values[rank - 1]


@dataclass
class Summary:
    """Rows created in the window, by status, and the finished ones' latency (ms)."""

    total: int = 0
    failed: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    p50_ms: float | None = None
    p99_ms: float | None = None


def _summary(rows: Iterable[Finished], failed: str) -> Summary:
    by_status: Counter[str] = Counter()
    took: list[float] = []
    for row in rows:
        by_status[row.status] += 1
        if row.seconds is not None:
            took.append(row.seconds * 1000)
    took.sort()
    return Summary(
        total=sum(by_status.values()),
        failed=by_status.get(failed, 0),
        by_status=dict(sorted(by_status.items())),
        p50_ms=percentile(took, 0.50),
        p99_ms=percentile(took, 0.99),
    )


@dataclass
class Overview:
    """The home page's figures: the account's last 24 hours."""

    since: float
    until: float
    executions: Summary
    deliveries: Summary


async def overview(rt: Runtime, account: Account) -> Overview:
    now = rt.now()
    since = now - WINDOW_S

    def read(conn: Connection) -> tuple[list[Finished], list[Finished]]:
        return (
            activity_repo.executions_since(conn, account.id, since),
            activity_repo.deliveries_since(conn, account.id, since),
        )

    ran, sent = await rt.store.read(read)
    return Overview(since, now, _summary(ran, "FAILED"), _summary(sent, "FAILED"))


@dataclass
class Minute:
    """One minute of a webhook's chart (minutes without attempts are left out)."""

    at: float
    attempts: int
    succeeded: int


@dataclass
class WebhookActivity:
    """A webhook's attempts over the last 24 hours, minute by minute."""

    webhook_id: str
    since: float
    until: float
    attempts: int
    succeeded: int
    success_rate: float | None
    p50_ms: float | None
    p99_ms: float | None
    minutes: list[Minute]


async def webhook_activity(rt: Runtime, account: Account, webhook_ref: str) -> WebhookActivity:
    """WEBHOOK_NOT_FOUND for another account's webhook (or none)."""
    saved = await webhooks.get(rt, account, webhook_ref)
    now = rt.now()
    since = now - WINDOW_S
    rows = await rt.store.read(lambda c: activity_repo.attempts_since(c, saved.id, since))
    per_minute: dict[float, list[int]] = {}
    for row in rows:
        minute = per_minute.setdefault(math.floor(row.at / MINUTE_S) * MINUTE_S, [0, 0])
        minute[0] += 1
        minute[1] += row.ok
    durations = sorted(row.duration_ms for row in rows)
    succeeded = sum(row.ok for row in rows)
    return WebhookActivity(
        webhook_id=saved.id,
        since=since,
        until=now,
        attempts=len(rows),
        succeeded=succeeded,
        success_rate=succeeded / len(rows) if rows else None,
        p50_ms=percentile(durations, 0.50),
        p99_ms=percentile(durations, 0.99),
        minutes=[Minute(at, n, ok) for at, (n, ok) in sorted(per_minute.items())],
    )
