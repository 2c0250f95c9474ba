"""A webhook's last 24 hours (the Deliveries page's chart, and
``GET /v1/webhooks/{id}/activity``): attempts per minute, success rate, p50/p99 response
time. The account's last day as a whole is ``usecases/overview.py`` (the home page).

Only the window's attempts are read, through ``(webhook_id, at)``: the database sums them
per minute; the response-time percentiles are taken here from the newest ``SAMPLE``
attempts (SQLite has no percentile function).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.runtime import Runtime
from flowhook.store import activity as activity_repo
from flowhook.store.activity import MinuteCount
from flowhook.usecases import webhooks
from flowhook.usecases.overview import percentile

WINDOW_S = 24 * 3600.0
MINUTE_S = 60.0
SAMPLE = 2000
"""Response-time percentiles are the newest attempts' (as the home page's)."""


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

    def read(conn: Connection) -> tuple[list[MinuteCount], list[float]]:
        return (
            activity_repo.minutes_since(conn, saved.id, since),
            activity_repo.durations_since(conn, saved.id, since, SAMPLE),
        )

    minutes, durations = await rt.store.read(read)
    attempts = sum(m.attempts for m in minutes)
    succeeded = sum(m.succeeded for m in minutes)
    return WebhookActivity(
        webhook_id=saved.id,
        since=since,
        until=now,
        attempts=attempts,
        succeeded=succeeded,
        success_rate=succeeded / attempts if attempts else None,
        p50_ms=percentile(durations, 0.50),
        p99_ms=percentile(durations, 0.99),
        minutes=[Minute(m.minute * MINUTE_S, m.attempts, m.succeeded) for m in minutes],
    )
