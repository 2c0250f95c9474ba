"""A webhook's last 24 hours (the Deliveries page's chart, and
``GET /v1/webhooks/{id}/activity``): attempts per minute, success rate, p50/p99 response
time. The account's last day as a whole is ``usecases/overview.py`` (the home page).

Only the window's attempts are read, through ``(webhook_id, at)``; the sums and
percentiles are taken here, in Python, as SQLite has no percentile function and the
window is small beside the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flowhook.domain.account import Account
from flowhook.runtime import Runtime
from flowhook.store import activity as activity_repo
from flowhook.usecases import webhooks
from flowhook.usecases.overview import percentile

WINDOW_S = 24 * 3600.0
MINUTE_S = 60.0


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
    durations = [row.duration_ms for row in rows]
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
