"""The account's last 24 hours (the console's home figures) as an API. The figures are
the use case's (``usecases/activity.py``); this router calls it and renders."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.usecases import activity

router = APIRouter()


@router.get("/v1/activity")
async def account_activity(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """Executions and deliveries created in the last 24 hours: counts by status, failures,
    p50/p99 latency in ms (creation to end; for deliveries, to the final outcome)."""
    return asdict(await activity.overview(rt, account))
