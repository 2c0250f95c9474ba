"""Repository functions for direct-dial agents and the dialer's waiting queue.

``allot`` is the dialer's one atomic decision: in one transaction it queues the call,
checks its place in the queue and marks the longest-idle free agent busy with it. On
PostgreSQL concurrent allotments skip each other's locked rows and the final update is a
compare-and-set on ``busy_with IS NULL``, so two calls never get the same agent.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from flowhook.domain.agent import Agent
from flowhook.engine.state import Status
from flowhook.store.db import is_storable_id
from flowhook.store.tables import agents, dialer_queue, executions


def create(
    conn: Connection, account_id: str, name: str, cli: str, paused: bool, now: float
) -> Agent | None:
    """A new agent, or None when the account already has one with this CLI."""
    if by_cli(conn, account_id, cli) is not None:
        return None
    agent_id = str(uuid.uuid4())
    conn.execute(
        agents.insert().values(
            id=agent_id,
            account_id=account_id,
            name=name,
            cli=cli,
            paused=paused,
            busy_with=None,
            idle_since=now,
            created_at=now,
        )
    )
    if not paused:
        wake_queue(conn, account_id, now)
    return get(conn, agent_id, account_id)


def get(conn: Connection, agent_id: str, account_id: str) -> Agent | None:
    if not is_storable_id(agent_id, 36):
        return None
    row = conn.execute(
        select(agents).where(agents.c.id == agent_id, agents.c.account_id == account_id)
    ).first()
    return Agent.from_row(row) if row else None


def by_cli(conn: Connection, account_id: str, cli: str) -> Agent | None:
    row = conn.execute(
        select(agents).where(agents.c.account_id == account_id, agents.c.cli == cli)
    ).first()
    return Agent.from_row(row) if row else None


def list_for(conn: Connection, account_id: str) -> list[Agent]:
    rows = conn.execute(
        select(agents)
        .where(agents.c.account_id == account_id)
        .order_by(agents.c.created_at, agents.c.id)
    )
    return [Agent.from_row(r) for r in rows]


def update_agent(
    conn: Connection,
    agent_id: str,
    account_id: str,
    now: float,
    *,
    paused: bool | None = None,
    name: str | None = None,
) -> Agent | None:
    current = get(conn, agent_id, account_id)
    if current is None:
        return None
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name
    if paused is not None and paused != current.paused:
        values["paused"] = paused
        if not paused:
            # back from a pause: idle from now on, not "idle" for the whole pause
            values["idle_since"] = now
    if values:
        conn.execute(update(agents).where(agents.c.id == agent_id).values(**values))
        if paused is False and current.paused:
            wake_queue(conn, account_id, now)
    return get(conn, agent_id, account_id)


def remove(conn: Connection, agent_id: str, account_id: str) -> bool:
    if not is_storable_id(agent_id, 36):
        return False
    result = conn.execute(
        delete(agents).where(agents.c.id == agent_id, agents.c.account_id == account_id)
    )
    return bool(result.rowcount)


def allot(
    conn: Connection, account_id: str, execution_uuid: str, now: float, queue_until: float
) -> Agent | None:
    """The agent allotted to this execution, or None (the execution stays queued).

    Idempotent: an execution that already has an agent gets the same one again, so a
    replayed step after a crash does not take a second agent.
    """
    mine = conn.execute(
        select(agents).where(
            agents.c.account_id == account_id, agents.c.busy_with == execution_uuid
        )
    ).first()
    if mine is not None:
        _leave(conn, execution_uuid)
        return Agent.from_row(mine)
    conn.execute(
        delete(dialer_queue).where(
            dialer_queue.c.account_id == account_id, dialer_queue.c.expires_at < now
        )
    )
    entry = conn.execute(
        select(dialer_queue.c.queued_at).where(dialer_queue.c.execution_uuid == execution_uuid)
    ).first()
    if entry is None:
        queued_at = now
        conn.execute(
            dialer_queue.insert().values(
                execution_uuid=execution_uuid,
                account_id=account_id,
                queued_at=now,
                expires_at=queue_until,
            )
        )
    else:
        queued_at = entry[0]
    q = dialer_queue.c
    ahead = conn.execute(
        select(func.count())
        .select_from(dialer_queue)
        .where(
            q.account_id == account_id,
            q.expires_at >= now,
            or_(
                q.queued_at < queued_at,
                and_(q.queued_at == queued_at, q.execution_uuid < execution_uuid),
            ),
        )
    ).scalar_one()
    free = conn.execute(
        select(agents.c.id)
        .where(
            agents.c.account_id == account_id,
            agents.c.paused.is_(False),
            agents.c.busy_with.is_(None),
        )
        .order_by(agents.c.idle_since, agents.c.id)
        .limit(int(ahead) + 1)
        .with_for_update(skip_locked=True)
    ).all()
    if len(free) <= ahead:
        return None  # every free agent is owed to a call that has waited longer
    agent_id = free[0][0]
    taken = conn.execute(
        update(agents)
        .where(agents.c.id == agent_id, agents.c.busy_with.is_(None))
        .values(busy_with=execution_uuid)
    )
    if not taken.rowcount:
        return None  # another worker took it between our read and write: retry later
    _leave(conn, execution_uuid)
    return get(conn, agent_id, account_id)


def release(conn: Connection, execution_uuid: str, now: float) -> tuple[Agent | None, bool]:
    """Free the agent busy with this execution and drop it from the queue. Returns the
    agent (None if it had none) and whether a waiting execution was woken for it."""
    _leave(conn, execution_uuid)
    row = conn.execute(select(agents).where(agents.c.busy_with == execution_uuid)).first()
    if row is None:
        return None, False
    conn.execute(update(agents).where(agents.c.id == row.id).values(busy_with=None, idle_since=now))
    agent = get(conn, row.id, row.account_id)
    return agent, wake_queue(conn, row.account_id, now)


def leave_queue(conn: Connection, execution_uuid: str) -> None:
    _leave(conn, execution_uuid)


def _leave(conn: Connection, execution_uuid: str) -> None:
    conn.execute(delete(dialer_queue).where(dialer_queue.c.execution_uuid == execution_uuid))


def wake_queue(conn: Connection, account_id: str, now: float) -> bool:
    """An agent became free: make the call at the head of the queue due now, instead of at
    its next scheduled retry. Returns True when one was woken."""
    head = conn.execute(
        select(dialer_queue.c.execution_uuid)
        .where(dialer_queue.c.account_id == account_id, dialer_queue.c.expires_at >= now)
        .order_by(dialer_queue.c.queued_at, dialer_queue.c.execution_uuid)
        .limit(1)
    ).first()
    if head is None:
        return False
    woken = conn.execute(
        update(executions)
        .where(
            executions.c.uuid == head[0],
            executions.c.status == Status.WAITING.value,
            executions.c.due_at > now,
        )
        .values(due_at=now)
    )
    return bool(woken.rowcount)


def queue_length(conn: Connection, account_id: str, now: float) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(dialer_queue)
            .where(dialer_queue.c.account_id == account_id, dialer_queue.c.expires_at >= now)
        ).scalar_one()
    )
