"""Requests over HTTP: the summary of one outbound API call or createOutbound — records
loaded, valid, invalid, completed, completion % and status (the original's Request
Summary), from :func:`flowhook.usecases.outbound.summary`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.usecases import outbound
from flowhook.usecases.outbound import RequestSummary

router = APIRouter()


def request_view(summary: RequestSummary) -> dict[str, Any]:
    record = summary.record
    return {
        "request_id": record.request_id,
        "flow_id": record.flow_id,
        "flow_type": record.flow_type,
        "version": record.version,
        "source": record.source,
        "records_loaded": record.records_loaded,
        "records_valid": record.records_valid,
        "records_invalid": record.records_invalid,
        "records_completed": summary.records_completed,
        "records_failed": summary.records_failed,
        "completion_percent": summary.completion_percent,
        "status": summary.status,
        "start_at": record.start_at,
        "created_at": record.created_at,
    }


@router.get("/v1/requests/{request_id}")
async def get_request(request_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return request_view(await outbound.summary(rt, account, request_id))
