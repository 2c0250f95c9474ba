"""Executions as an API: one execution with its step log, and the paginated list. The
trigger that creates them is in :mod:`flowhook.api.trigger`. The rules are the use cases'
(``usecases/executions.py``); this router parses, calls one, and renders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.openapi import error_responses
from flowhook.engine.state import ExecutionState, within_depth
from flowhook.usecases import executions
from flowhook.usecases.executions import ExecutionFilter

router = APIRouter()


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
        "variables": {f"${k}": within_depth(v) for k, v in state.variables.items()},
        "steps": within_depth(state.steps),
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
    return execution_view(await executions.get(rt, account, uuid))


@router.get("/v1/executions", responses=error_responses(400, 422))
async def list_executions(
    account: AccountDep, rt: RuntimeDep, filters: Annotated[ExecutionFilter, Query()]
) -> dict[str, Any]:
    """Newest first, a page at a time (``next_cursor``); filters combine."""
    page = await executions.list_page(rt, account, filters)
    return {
        "executions": [
            {
                "uuid": r.uuid,
                "flow_id": r.flow_id,
                "version": r.version,
                "request_id": r.request_id,
                "status": r.status,
                "contact": r.contact,
                "error_reason": r.error_reason,
                "created_at": r.created_at,
                "finished_at": r.finished_at,
            }
            for r in page.items
        ],
        "next_cursor": page.next_cursor,
    }
