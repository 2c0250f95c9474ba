"""A webhook's last 24 hours (the Deliveries page's chart, and
``GET /v1/webhooks/{id}/activity``): attempts per minute, success rate, p50/p99 response
time. The account's last day as a whole is ``usecases/overview.py`` (the home page).

Constant cost: read from the webhook's per-minute roll-up (``store/rollup.py``, at most
1,440 minutes), never from its attempts. The response-time percentiles come from the
roll-up's histogram, within one bucket's width of the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.runtime import Runtime
from flowhook.store import rollup
from flowhook.store.rollup import WebhookMinute
from flowhook.store.tables import ATTEMPT_BOUNDS_MS
from flowhook.usecases import webhooks

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

    def read(conn: Connection) -> tuple[list[WebhookMinute], list[int]]:
        return (
            rollup.webhook_minutes(conn, saved.id, since),
            rollup.webhook_latencies(conn, saved.id, since),
        )

    minutes, latencies = await rt.store.read(read)
    attempts = sum(m.attempts for m in minutes)
    succeeded = sum(m.succeeded for m in minutes)
    return WebhookActivity(
        webhook_id=saved.id,
        since=since,
        until=now,
        attempts=attempts,
        succeeded=succeeded,
        success_rate=succeeded / attempts if attempts else None,
        p50_ms=rollup.percentile(ATTEMPT_BOUNDS_MS, latencies, 0.50),
        p99_ms=rollup.percentile(ATTEMPT_BOUNDS_MS, latencies, 0.99),
        minutes=[Minute(m.minute * MINUTE_S, m.attempts, m.succeeded) for m in minutes],
    )
