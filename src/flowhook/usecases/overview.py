"""An account's last 24 hours at a glance (the console's home page, ``GET /v1/activity``):
executions and deliveries with their failures and latencies, the webhooks failing now, and
whether the account is new (no flow, no webhook yet: the page shows where to start).

Constant cost at any scale: the figures are read from the roll-up that the writes keep
(``store/rollup.py``: at most 288 rows per process shard), not from the executions and
deliveries. They count what *happened* in the window: executions started, finished
(completed or failed), deliveries created, delivered, dead-lettered, attempts made. The
percentiles come from the roll-up's histograms, within one bucket's width of the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.runtime import Runtime
from flowhook.store import overview as overview_repo
from flowhook.store import rollup
from flowhook.store.tables import ATTEMPT_BOUNDS_MS, DURATION_BOUNDS_S

DAY_S = 24 * 3600.0


@dataclass(frozen=True)
class Overview:
    since: float
    executions_started: int
    executions_completed: int
    executions_failed: int
    execution_p50_s: float | None
    execution_p99_s: float | None
    deliveries_created: int
    deliveries_succeeded: int
    deliveries_failed: int
    attempts: int
    attempts_failed: int
    attempt_p50_ms: float | None
    attempt_p99_ms: float | None
    failing_webhooks: list[dict[str, Any]]
    flows: int
    webhooks: int

    @property
    def is_new(self) -> bool:
        return self.flows == 0 or self.webhooks == 0


async def last_day(rt: Runtime, account: Account) -> Overview:
    since = rt.now() - DAY_S

    def read(conn: Connection) -> Overview:
        day = rollup.account_since(conn, account.id, since)
        n = day.counts
        failing = overview_repo.failing_webhooks(conn, account.id)
        figures = rollup.webhook_failures(conn, [f["webhook_id"] for f in failing], since)
        for f in failing:
            f["failed_attempts"], f["dead_letters"] = figures.get(f["webhook_id"], (0, 0))
        flow_count, webhook_count = overview_repo.counts_of_things(conn, account.id)
        return Overview(
            since=since,
            executions_started=n["executions_started"],
            executions_completed=n["executions_completed"],
            executions_failed=n["executions_failed"],
            execution_p50_s=rollup.percentile(DURATION_BOUNDS_S, day.durations, 0.50),
            execution_p99_s=rollup.percentile(DURATION_BOUNDS_S, day.durations, 0.99),
            deliveries_created=n["deliveries_created"],
            deliveries_succeeded=n["deliveries_succeeded"],
            deliveries_failed=n["deliveries_failed"],
            attempts=n["attempts"],
            attempts_failed=n["attempts"] - n["attempts_ok"],
            attempt_p50_ms=rollup.percentile(ATTEMPT_BOUNDS_MS, day.latencies, 0.50),
            attempt_p99_ms=rollup.percentile(ATTEMPT_BOUNDS_MS, day.latencies, 0.99),
            failing_webhooks=failing,
            flows=flow_count,
            webhooks=webhook_count,
        )

    return await rt.store.read(read)
