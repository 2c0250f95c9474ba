"""Recover (re-queue a webhook's or an execution's failed deliveries) and the jobs that do
it, as an API. The rules are the use cases' (``usecases/recoveries.py``); this router
parses, calls one, and renders."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.openapi import error_responses
from flowhook.usecases import recoveries
from flowhook.usecases.recoveries import RecoverIn

router = APIRouter()


@router.post(
    "/v1/webhooks/{webhook_id}/recover", status_code=202, responses=error_responses(404, 422)
)
async def recover_webhook(
    webhook_id: str, body: RecoverIn, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    """Re-queue every failed (dead-lettered) delivery of the webhook created in [since,
    until), each with its webhook-id, as a background job: follow it with the job's URL."""
    job = await recoveries.recover_webhook(rt, account, webhook_id, body)
    return recoveries.view(job)


@router.get("/v1/webhooks/{webhook_id}/recover/{job_id}", responses=error_responses(404))
async def get_webhook_recovery(
    webhook_id: str, job_id: str, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    return recoveries.view(await recoveries.get(rt, account, job_id, webhook_ref=webhook_id))


@router.post("/v1/executions/{uuid}/recover", status_code=202, responses=error_responses(404))
async def recover_execution(uuid: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """Re-queue every failed (dead-lettered) delivery of one execution, as a job."""
    return recoveries.view(await recoveries.recover_execution(rt, account, uuid))


@router.get("/v1/jobs/{job_id}", responses=error_responses(404))
async def get_job(job_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """A background job's progress: total, done (re-queued), failed (could not be)."""
    return recoveries.view(await recoveries.get(rt, account, job_id))
