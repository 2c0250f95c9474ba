"""The account's last 24 hours (the console's home figures) as an API. The figures are
the use case's (``usecases/overview.py``, shared with the home page); this router calls it
and renders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.usecases import overview

router = APIRouter()


def _nonzero(**counts: int) -> dict[str, int]:
    return {name: n for name, n in counts.items() if n}


@router.get("/v1/activity")
async def account_activity(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """What happened in the last 24 hours: executions started (``total``) and finished
    (``by_status``), deliveries created (``total``) and finished (``by_status``: delivered
    or dead-lettered), attempts, latencies (executions: creation to end, in s; the
    receivers' response time, in ms) and the webhooks failing now."""
    day = await overview.last_day(rt, account)
    return {
        "since": day.since,
        "executions": {
            "total": day.executions_started,
            "by_status": _nonzero(COMPLETED=day.executions_completed, FAILED=day.executions_failed),
            "p50_s": day.execution_p50_s,
            "p99_s": day.execution_p99_s,
        },
        "deliveries": {
            "total": day.deliveries_created,
            "by_status": _nonzero(SUCCEEDED=day.deliveries_succeeded, FAILED=day.deliveries_failed),
            "attempts": day.attempts,
            "failed_attempts": day.attempts_failed,
            "attempt_p50_ms": day.attempt_p50_ms,
            "attempt_p99_ms": day.attempt_p99_ms,
        },
        "failing_webhooks": day.failing_webhooks,
    }
