"""The account's last 24 hours (the console's home figures) as an API. The figures are
the use case's (``usecases/overview.py``, shared with the home page); this router calls it
and renders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.usecases import overview

router = APIRouter()


@router.get("/v1/activity")
async def account_activity(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """Executions and deliveries created in the last 24 hours: counts by status, latency
    (executions: creation to end, in s; deliveries: the receivers' response time, in ms,
    both from the newest 2,000), and the webhooks failing now."""
    day = await overview.last_day(rt, account)
    return {
        "since": day.since,
        "executions": {
            "total": day.executions_total,
            "by_status": day.executions,
            "p50_s": day.execution_p50_s,
            "p99_s": day.execution_p99_s,
        },
        "deliveries": {
            "total": day.deliveries_total,
            "by_status": day.deliveries,
            "attempt_p50_ms": day.attempt_p50_ms,
            "attempt_p99_ms": day.attempt_p99_ms,
        },
        "failing_webhooks": day.failing_webhooks,
    }
