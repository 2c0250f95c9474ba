"""Executions: one execution with its step log, and the paginated list. The trigger that
creates them is in :mod:`flowhook.api.trigger`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.openapi import error_responses
from flowhook.api.pagination import page_of, parse_cursor
from flowhook.engine.state import ExecutionState, Status
from flowhook.errors import NotFound
from flowhook.store import executions as execution_repo

router = APIRouter()

ID_PATTERN = r"^[A-Za-z0-9\-]{1,64}$"
"""What flow ids and request ids look like (filters outside it are mistakes, not queries)."""


def execution_view(state: ExecutionState) -> dict[str, Any]:
    return {
        "uuid": state.uuid,
        "request_id": state.request_id,
        "flow_id": state.flow_id,
        "flow_name": state.flow_name,
        "version": state.version,
        "status": state.status.value,
        "phase": state.phase.value,
        "error_reason": state.error_reason,
        "error_message": state.error_message,
        "variables": {f"${k}": v for k, v in state.variables.items()},
        "steps": state.steps,
        "step_count": state.step_count,
        "wake_at": state.wake_at,
        "call_details": state.call_legs,
        "sms_details": state.sms,
        "email_details": state.emails,
        "recordings": state.recordings,
        "contact": state.contact,
        "created_at": state.created_at,
        "started_at": state.started_at,
        "ended_at": state.ended_at,
    }


@router.get("/v1/executions/{uuid}")
async def get_execution(uuid: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    state = await rt.execution(uuid, account.id)
    if state is None:
        raise NotFound(f"no execution {uuid}", code="EXECUTION_NOT_FOUND")
    return execution_view(state)


@router.get("/v1/executions", responses=error_responses(400))
async def list_executions(
    account: AccountDep,
    rt: RuntimeDep,
    flow_id: str | None = Query(None, pattern=ID_PATTERN),
    status: Status | None = None,
    request_id: str | None = Query(None, pattern=ID_PATTERN),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict[str, Any]:
    after = parse_cursor(cursor)
    rows = await rt.store.read(
        lambda c: execution_repo.list_for(
            c,
            account.id,
            flow_id=flow_id,
            status=status.value if status else None,
            request_id=request_id,
            limit=limit + 1,
            after=after,
        )
    )
    page, next_cursor = page_of(rows, limit, lambda r: (r.created_at, r.uuid))
    return {
        "executions": [
            {
                "uuid": r.uuid,
                "flow_id": r.flow_id,
                "version": r.version,
                "request_id": r.request_id,
                "status": r.status,
                "error_reason": r.error_reason,
                "created_at": r.created_at,
                "finished_at": r.finished_at,
            }
            for r in page
        ],
        "next_cursor": next_cursor,
    }
