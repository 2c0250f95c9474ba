"""Recover: replay every failed delivery (dead letter) of a webhook created since a time,
or of one execution, as one background job the user can follow (total, done, failed).

The job is a row (``store/jobs.py``) run a batch at a time by the workers' job loop
(``worker/jobs.py``): it survives a restart or a kill -9 and resumes after its last
committed batch, and it re-queues a batch only once the previous one has been tried, so
new deliveries are not starved (``store/recovery.py``). Each delivery keeps its id, the
``webhook-id`` its receiver deduplicates on.

The window is [since, until); ``until`` defaults to the moment the job is asked for: the
deliveries created after that are new traffic, not what is being recovered.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.errors import Code, NotFound, ValidationFailed
from flowhook.runtime import Runtime
from flowhook.store import jobs as job_repo
from flowhook.store import recovery
from flowhook.store.jobs import Job
from flowhook.store.notify import Work, notify
from flowhook.usecases import executions, webhooks
from flowhook.usecases.pages import Moment, epoch


class RecoverIn(BaseModel):
    """Which failed deliveries to send again: created at or after ``since``, before
    ``until`` (default: now). Times are ISO 8601 or epoch seconds (UTC if no zone)."""

    model_config = ConfigDict(extra="forbid")

    since: Moment
    until: Moment | None = Field(None)


def view(job: Job) -> dict[str, Any]:
    """A job as the API and the console show it."""
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "webhook_id": job.webhook_id,
        "execution_uuid": job.execution_uuid,
        "since": job.since,
        "until": job.until,
        "total": job.total,
        "done": job.done,
        "failed": job.failed,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


async def _start(rt: Runtime, job: Job) -> Job:
    def write(conn: Connection) -> Job:
        job.total = recovery.count(conn, job)
        job_repo.create(conn, job)
        notify(conn, Work.JOBS)  # the job loops of other processes (PostgreSQL)
        return job

    created = await rt.store.write(write)
    rt.jobs.nudge()
    return created


def _new(account: Account, now: float, **target: Any) -> Job:
    return Job(
        id=str(uuid.uuid4()),
        account_id=account.id,
        kind=job_repo.RECOVER,
        status=job_repo.RUNNING,
        total=0,
        done=0,
        failed=0,
        position={},
        due_at=now,
        created_at=now,
        updated_at=now,
        finished_at=None,
        **target,
    )


async def recover_webhook(rt: Runtime, account: Account, webhook_ref: str, form: RecoverIn) -> Job:
    """Start re-queuing the webhook's failed deliveries of the window (WEBHOOK_NOT_FOUND for
    another account's webhook; INVALID_WINDOW when ``until`` is not after ``since``)."""
    saved = await webhooks.get(rt, account, webhook_ref)
    now = rt.now()
    since = epoch(form.since)
    until = epoch(form.until) if form.until is not None else now
    if until <= since:
        raise ValidationFailed(
            "until must be after since", code=Code.INVALID_WINDOW, details={"since": since}
        )
    return await _start(
        rt,
        _new(account, now, webhook_id=saved.id, execution_uuid=None, since=since, until=until),
    )


async def recover_execution(rt: Runtime, account: Account, execution_uuid: str) -> Job:
    """Start re-queuing every failed delivery of one execution (EXECUTION_NOT_FOUND for
    another account's)."""
    state = await executions.get(rt, account, execution_uuid)
    now = rt.now()
    return await _start(
        rt,
        _new(account, now, webhook_id=None, execution_uuid=state.uuid, since=None, until=None),
    )


async def get(rt: Runtime, account: Account, job_id: str, *, webhook_ref: str | None = None) -> Job:
    """One of the account's jobs (JOB_NOT_FOUND otherwise); with ``webhook_ref``, only a
    job recovering that webhook."""
    job = await rt.store.read(lambda c: job_repo.get(c, account.id, job_id))
    if job is not None and webhook_ref is not None:
        saved = await webhooks.get(rt, account, webhook_ref)
        if job.webhook_id != saved.id:
            job = None
    if job is None:
        raise NotFound(f"no job {job_id}", code=Code.JOB_NOT_FOUND)
    return job
