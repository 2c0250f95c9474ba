"""An account's last 24 hours at a glance (the console's home page): executions and
deliveries with their failures and latencies, the webhooks failing now, and whether the
account is new (no flow, no webhook yet: the page shows where to start).

Cheap at scale: counts read the last day's range of the account's indexes only, and the
percentiles come from the newest ``SAMPLE`` rows, not from every row of the day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.runtime import Runtime
from flowhook.store import overview as overview_repo

DAY_S = 24 * 3600.0
SAMPLE = 2000


@dataclass(frozen=True)
class Overview:
    since: float
    executions: dict[str, int]
    execution_p50_s: float | None
    execution_p99_s: float | None
    deliveries: dict[str, int]
    attempt_p50_ms: float | None
    attempt_p99_ms: float | None
    failing_webhooks: list[dict[str, Any]]
    flows: int
    webhooks: int

    @property
    def executions_total(self) -> int:
        return sum(self.executions.values())

    @property
    def deliveries_total(self) -> int:
        return sum(self.deliveries.values())

    @property
    def is_new(self) -> bool:
        return self.flows == 0 or self.webhooks == 0


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


async def last_day(rt: Runtime, account: Account) -> Overview:
    since = rt.now() - DAY_S

    def read(conn: Connection) -> Overview:
        durations = overview_repo.execution_durations(conn, account.id, since, SAMPLE)
        latencies = overview_repo.attempt_latencies(conn, account.id, since, SAMPLE)
        flow_count, webhook_count = overview_repo.counts_of_things(conn, account.id)
        return Overview(
            since=since,
            executions=overview_repo.execution_counts(conn, account.id, since),
            execution_p50_s=percentile(durations, 0.5),
            execution_p99_s=percentile(durations, 0.99),
            deliveries=overview_repo.delivery_counts(conn, account.id, since),
            attempt_p50_ms=percentile(latencies, 0.5),
            attempt_p99_ms=percentile(latencies, 0.99),
            failing_webhooks=overview_repo.failing_webhooks(conn, account.id, since),
            flows=flow_count,
            webhooks=webhook_count,
        )

    return await rt.store.read(read)
