"""Requests: the summary of one outbound API call or createOutbound — records loaded,
valid, invalid, completed, completion % and status (the original's Request Summary)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.engine.state import Status
from flowhook.errors import NotFound
from flowhook.store import executions as execution_repo
from flowhook.store import requests as request_repo
from flowhook.store.requests import RequestRecord

router = APIRouter()


def request_view(record: RequestRecord, counts: dict[str, int], now: float) -> dict[str, Any]:
    """``Scheduled`` while every execution waits for a start time in the future,
    ``Completed`` once every execution has finished, ``In process`` in between."""
    completed = counts.get(Status.COMPLETED.value, 0)
    failed = counts.get(Status.FAILED.value, 0)
    pending = counts.get(Status.PENDING.value, 0)
    valid = record.records_valid
    finished = completed + failed
    if finished >= valid:
        status = "Completed"
    elif pending == valid and record.start_at is not None and record.start_at > now:
        status = "Scheduled"
    else:
        status = "In process"
    return {
        "request_id": record.request_id,
        "flow_id": record.flow_id,
        "flow_type": record.flow_type,
        "version": record.version,
        "source": record.source,
        "records_loaded": record.records_loaded,
        "records_valid": valid,
        "records_invalid": record.records_invalid,
        "records_completed": completed,
        "records_failed": failed,
        "completion_percent": round(100.0 * finished / valid, 1) if valid else 100.0,
        "status": status,
        "start_at": record.start_at,
        "created_at": record.created_at,
    }


@router.get("/v1/requests/{request_id}")
async def get_request(request_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    def read(conn: Any) -> tuple[RequestRecord | None, dict[str, int]]:
        record = request_repo.get(conn, request_id, account.id)
        if record is None:
            return None, {}
        return record, execution_repo.count_by_status(conn, request_id)

    record, counts = await rt.store.read(read)
    if record is None:
        raise NotFound(f"no request {request_id}", code="REQUEST_NOT_FOUND")
    return request_view(record, counts, time.time())
