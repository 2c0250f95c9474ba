"""Recovering failed deliveries: a job re-queues the dead letters (status FAILED) of one
webhook, or of one execution, created in a window, a batch at a time.

Each re-queued delivery keeps its id (the ``webhook-id`` header) and starts its retry
schedule again, as a replay does. A batch is one transaction (``store/jobs.py``): the
deliveries it re-queues and the job's position commit together.

New deliveries are not starved: the next batch is taken only once the previous batch's
deliveries have been tried (none of them is still due), so at most one batch of old work
waits in the queue beside the new.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update

from flowhook.store import jobs as job_repo
from flowhook.store.deliveries import FAILED, PENDING, restarted
from flowhook.store.jobs import Job
from flowhook.store.notify import Work, notify
from flowhook.store.tables import deliveries

BACKLOG_PAUSE_S = 0.5
"""How long a job waits before looking again whether its previous batch has been tried."""


def _window(job: Job) -> Any:
    """The job's failed deliveries: of its webhook or its execution, created in the window."""
    c = deliveries.c
    where = [c.account_id == job.account_id, c.status == FAILED]
    if job.webhook_id is not None:
        where.append(c.webhook_id == job.webhook_id)
    if job.execution_uuid is not None:
        where.append(c.execution_uuid == job.execution_uuid)
    if job.since is not None:
        where.append(c.created_at >= job.since)
    if job.until is not None:
        where.append(c.created_at < job.until)
    return and_(*where)


def count(conn: Connection, job: Job) -> int:
    """The failed deliveries in the job's window now (its ``total`` at the start)."""
    return int(conn.execute(select(func.count()).where(_window(job))).scalar_one())


def _next_batch(conn: Connection, job: Job, limit: int) -> list[tuple[float, str]]:
    """Oldest first, after the job's position: (created_at, id) of up to ``limit``."""
    c = deliveries.c
    query = select(c.created_at, c.id).where(_window(job))
    after = job.position.get("after")
    if after:
        at, ident = float(after[0]), str(after[1])
        query = query.where(and_(c.created_at >= at, or_(c.created_at > at, c.id > ident)))
    rows = conn.execute(query.order_by(c.created_at, c.id).limit(limit))
    return [(r[0], r[1]) for r in rows]


def _still_due(conn: Connection, ids: list[str], now: float) -> bool:
    """Whether any of the previous batch's deliveries is still waiting for its attempt."""
    if not ids:
        return False
    c = deliveries.c
    found = conn.execute(
        select(c.id).where(c.id.in_(ids), c.status == PENDING, c.due_at <= now).limit(1)
    ).first()
    return found is not None


def _requeue(conn: Connection, account_id: str, ids: list[str], now: float) -> list[str]:
    """Dead letters among ``ids`` back to PENDING from the start of their schedule, as a
    replay (``deliveries.replay``): one conditional UPDATE, so one that is no longer FAILED
    (replayed meanwhile) is left alone. Returns the ids re-queued."""
    if not ids:
        return []
    c = deliveries.c
    rows = conn.execute(
        update(deliveries)
        .where(c.id.in_(ids), c.account_id == account_id, c.status == FAILED)
        .values(restarted(now))
        .returning(c.id)
    )
    return [r[0] for r in rows]


def step(conn: Connection, now: float, batch: int) -> Job | None:
    """Run one batch of the job due first (None: no job is due). Returns the job as saved."""
    job = job_repo.take_due(conn, now)
    if job is None:
        return None
    job.updated_at = now
    if _still_due(conn, list(job.position.get("waiting", [])), now):
        job.due_at = now + BACKLOG_PAUSE_S
        job_repo.save(conn, job)
        return job
    rows = _next_batch(conn, job, batch)
    requeued = _requeue(conn, job.account_id, [ident for _, ident in rows], now)
    job.done += len(requeued)
    job.failed += len(rows) - len(requeued)
    job.position = {
        "after": list(rows[-1]) if rows else job.position.get("after"),
        "waiting": requeued,
    }
    if len(rows) < batch:
        job.status, job.due_at, job.finished_at = job_repo.DONE, None, now
        job.total = job.done + job.failed  # what the job found, now that it has looked
    else:
        job.due_at = now
    job_repo.save(conn, job)
    if requeued:
        notify(conn, Work.DELIVERIES)  # whichever worker is idle sends them
    return job
