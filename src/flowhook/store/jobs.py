"""Repository functions for jobs: background work a user asked for and follows (today the
recovery of failed deliveries, ``store/recovery.py``).

A job is due work while ``due_at`` is set, like executions and deliveries. It runs a
batch at a time, each batch in one transaction with the job row locked (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL; SQLite's single writer is already exclusive): the rows a batch
changes and the job's new position commit together or not at all, so a job killed at any
point resumes exactly where its last batch ended, never redoing or skipping one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, func, insert, select, update

from flowhook.store.db import is_storable_id
from flowhook.store.raw import Statement
from flowhook.store.tables import jobs

RUNNING, DONE = "RUNNING", "DONE"
RECOVER = "recover"


@dataclass
class Job:
    id: str
    account_id: str
    kind: str
    webhook_id: str | None
    execution_uuid: str | None
    since: float | None
    until: float | None
    status: str
    total: int
    done: int
    failed: int
    position: dict[str, Any]
    due_at: float | None
    created_at: float
    updated_at: float
    finished_at: float | None


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        account_id=row.account_id,
        kind=row.kind,
        webhook_id=row.webhook_id,
        execution_uuid=row.execution_uuid,
        since=row.since,
        until=row.until,
        status=row.status,
        total=row.total,
        done=row.done,
        failed=row.failed,
        position=dict(row.position or {}),
        due_at=row.due_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


def create(conn: Connection, job: Job) -> None:
    conn.execute(
        insert(jobs).values(
            id=job.id,
            account_id=job.account_id,
            kind=job.kind,
            webhook_id=job.webhook_id,
            execution_uuid=job.execution_uuid,
            since=job.since,
            until=job.until,
            created_at=job.created_at,
            **_progress(job),
        )
    )


def get(conn: Connection, account_id: str, job_id: str) -> Job | None:
    if not is_storable_id(job_id, 36):
        return None
    row = conn.execute(
        select(jobs).where(jobs.c.id == job_id, jobs.c.account_id == account_id)
    ).first()
    return _job(row) if row else None


# Every poll of the job loop runs this, mostly to find nothing: written once and run on
# the driver (store/raw.py), like the claims' selects; the row it finds, if any, is read
# whole through SQLAlchemy (its JSON position) — already locked by this select.
_DUE = Statement(
    "SELECT id FROM jobs WHERE due_at <= :now ORDER BY due_at LIMIT 1", skip_locked=True
)
_BY_ID = select(jobs).where(jobs.c.id == bindparam("id"))


def take_due(conn: Connection, now: float) -> Job | None:
    """The job due first, locked for this transaction (another worker's batch skips it)."""
    found = _DUE.first(conn, {"now": now})
    if found is None:
        return None
    row = conn.execute(_BY_ID, {"id": found[0]}).first()
    return _job(row) if row else None


def save(conn: Connection, job: Job) -> None:
    """The job's progress, position and next turn, in the transaction of its batch."""
    conn.execute(update(jobs).where(jobs.c.id == job.id).values(**_progress(job)))


class JobTally(NamedTuple):
    """How many jobs of a kind are in a status, and how many of their items are left."""

    kind: str
    status: str
    jobs: int
    remaining: int


def tally(conn: Connection) -> list[JobTally]:
    """Every account's jobs counted by kind and status (read at each ``/metrics``
    scrape: jobs are few, one per recover a user asked for)."""
    c = jobs.c
    rows = conn.execute(
        select(
            c.kind,
            c.status,
            func.count(),
            func.coalesce(func.sum(c.total - c.done - c.failed), 0),
        ).group_by(c.kind, c.status)
    ).all()
    return [JobTally(kind, status, int(n), int(left)) for kind, status, n, left in rows]


def _progress(job: Job) -> dict[str, Any]:
    """The columns a job's batches change (``create`` writes them first, ``save`` after)."""
    return {
        "status": job.status,
        "total": job.total,
        "done": job.done,
        "failed": job.failed,
        "position": job.position,
        "due_at": job.due_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
    }
