"""Repository functions for executions: insert, checkpoint, claim with a lease, read.

An execution row is due work while ``due_at`` is set; a worker claims it by writing its
lease (``lease_owner``, ``lease_until``). On PostgreSQL the claim skips rows that another
worker is claiming at the same moment (``FOR UPDATE SKIP LOCKED``); SQLite has one writer
at a time, so the same statement is already exclusive there.

Each claim also counts itself in ``claims``, which every save sets back to 0: a count that
only grows is an execution whose runs never get as far as a save, because they crash or
hang their worker (past ``execution_max_claims`` the runner fails it instead of running
it again).
"""

from __future__ import annotations

import base64
import json
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select, text, update

from flowhook.engine.state import ExecutionState, Status
from flowhook.store import rollup
from flowhook.store.db import is_storable_id, json_dumps
from flowhook.store.pages import newest_first
from flowhook.store.raw import Counted, Statement
from flowhook.store.tables import executions

FINISHED = (Status.COMPLETED.value, Status.FAILED.value)


class Claimed(NamedTuple):
    """An execution leased by ``claim_due``, with its claims since it last made progress
    (this claim included)."""

    state: ExecutionState
    claims: int


def _values(state: ExecutionState, now: float) -> dict[str, Any]:
    return {
        "status": state.status.value,
        "state": json_dumps(state.to_json()),
        "updated_at": now,
        "error_reason": state.error_reason,
        "finished_at": state.ended_at if state.status.finished else None,
    }


def insert_many(
    conn: Connection,
    states: list[ExecutionState],
    *,
    due_at: float | None,
    lease_owner: str | None,
    lease_until: float | None,
    now: float,
) -> None:
    if not states:
        return
    for s in states:  # sent with the transaction's next statement or its commit
        _INSERT.later(
            conn,
            {
                "uuid": s.uuid,
                "account_id": s.account_id,
                "flow_id": s.flow_id,
                "version": s.version,
                "request_id": s.request_id,
                "created_at": s.created_at or now,
                "contact": s.contact,
                "due_at": due_at,
                "lease_owner": lease_owner,
                "lease_until": lease_until,
                **_values(s, now),
            },
        )
    for s in states:
        rollup.execution_started(conn, s.account_id, s.created_at or now)
        _note_finished(conn, s, now)


def _note_finished(conn: Connection, state: ExecutionState, now: float) -> None:
    """A finished execution counts in the last day's figures (store/rollup.py)."""
    if state.status.finished:
        ended = state.ended_at or now
        rollup.execution_finished(
            conn,
            state.account_id,
            ended,
            completed=state.status is Status.COMPLETED,
            duration_s=ended - (state.created_at or ended),
        )


def _saved(
    state: ExecutionState,
    due_at: float | None,
    lease_owner: str | None,
    lease_until: float | None,
    holder: str | None,
    now: float,
) -> dict[str, Any]:
    """The parameters of a checkpoint (``save`` and ``save_later``)."""
    return {
        "uuid": state.uuid,
        "due_at": due_at,
        "lease_owner": lease_owner,
        "lease_until": lease_until,
        "holder": holder,
        **_values(state, now),
    }


def save(
    conn: Connection,
    state: ExecutionState,
    *,
    due_at: float | None,
    lease_owner: str | None,
    lease_until: float | None,
    now: float,
    holder: str | None = None,
) -> bool:
    """Checkpoint: the state as it is now, and when it is next due (None once finished).
    Saving is progress, so it also sets the claim count back to 0.

    With ``holder``, the save applies only while that worker still holds the lease: a
    worker that paused past its lease while another took the execution over must not
    overwrite the new owner's progress. Returns False when nothing was saved.
    """
    values = _saved(state, due_at, lease_owner, lease_until, holder, now)
    saved = bool((_SAVE if holder is None else _SAVE_HELD).run(conn, values))
    if saved:
        _note_finished(conn, state, now)
    return saved


def save_later(
    conn: Connection,
    state: ExecutionState,
    *,
    due_at: float | None,
    lease_owner: str | None,
    lease_until: float | None,
    now: float,
    holder: str,
) -> Counted:
    """``save`` while ``holder`` holds the lease, sent with the transaction's next statement
    (one round trip with it on PostgreSQL): whether it saved is ``.value() == 1``, to read
    after the statements that go with it (the finish's outbox rows). Its figures are noted
    now: a lost lease raises inside the transaction, which rolls them back with it."""
    values = _saved(state, due_at, lease_owner, lease_until, holder, now)
    _note_finished(conn, state, now)
    return _SAVE_HELD.counted_later(conn, values)


# The hot path's statements, given to the driver as they are (store/raw.py).
_INSERT = Statement.insert(
    "executions",
    "uuid account_id flow_id version request_id created_at due_at lease_owner lease_until"
    " status state updated_at error_reason finished_at contact",
)
_SET = (
    "UPDATE executions SET status = :status, state = :state, updated_at = :updated_at,"
    " error_reason = :error_reason, finished_at = :finished_at, due_at = :due_at,"
    " lease_owner = :lease_owner, lease_until = :lease_until,"
    " claims = 0"  # progress: the claims without it start again from 0
    " WHERE uuid = :uuid"
)
_SAVE = Statement(_SET)
_SAVE_HELD = Statement(_SET + " AND lease_owner = :holder")


# The claim's statements, written once (store/raw.py: run on the driver; on PostgreSQL
# the first one goes in one round trip with the transaction's BEGIN): every poll runs
# the first, mostly to find nothing.
_FREE = "(lease_until IS NULL OR lease_until < :now)"  # no lease, or an expired one
_DUE = f"due_at <= :now AND {_FREE}"
_EARLIEST = Statement(
    f"SELECT uuid FROM executions WHERE {_DUE} ORDER BY due_at LIMIT :limit", skip_locked=True
)
_WAITING = Statement(
    "SELECT id FROM accounts WHERE EXISTS"
    f" (SELECT 1 FROM executions WHERE account_id = accounts.id AND {_DUE}) LIMIT :limit"
)
_EARLIEST_OF = Statement(
    f"SELECT uuid FROM executions WHERE account_id = :account_id AND {_DUE}"
    " ORDER BY due_at LIMIT :share",
    skip_locked=True,
)
# a list of uuids, built once (SQLAlchemy expands it per engine)
_c = executions.c
_LEASE = (
    update(executions)
    .where(_c.uuid.in_(bindparam("uuids", expanding=True)), text(_FREE))
    .values(lease_owner=bindparam("owner"), lease_until=bindparam("until"), claims=_c.claims + 1)
    .returning(_c.state, _c.claims)
)
_RENEW = (
    update(executions)
    .where(_c.uuid.in_(bindparam("uuids", expanding=True)), _c.lease_owner == bindparam("owner"))
    .values(lease_until=bindparam("until"))
)
_RELEASE = (
    update(executions)
    .where(_c.lease_owner == bindparam("owner"))
    .values(lease_owner=None, lease_until=None)
)


def claim_due(
    conn: Connection, owner: str, now: float, lease_until: float, limit: int
) -> list[Claimed]:
    """Lease up to ``limit`` due executions whose lease is free or expired, counting the
    claim on each.

    Fair between accounts: when more is due than the batch holds, the accounts with due
    work share the batch, so one account's campaign of 100,000 calls cannot hold back
    another account's single flow for longer than a claim round. When it all fits, it is
    all taken, in one statement (the earliest due) instead of one per account.
    """
    uuids = [r[0] for r in _EARLIEST.all(conn, {"now": now, "limit": limit})]
    if len(uuids) >= limit:
        uuids = _shared(conn, now, limit)
    if not uuids:
        return []
    rows = conn.execute(_LEASE, {"uuids": uuids, "now": now, "owner": owner, "until": lease_until})
    return [Claimed(ExecutionState.from_json(r[0]), r[1]) for r in rows]


def _shared(conn: Connection, now: float, limit: int) -> list[str]:
    """The earliest due executions of each account with due work, ``limit`` shared
    between them (each account's rows found through ``(account_id, due_at)``)."""
    waiting = [r[0] for r in _WAITING.all(conn, {"now": now, "limit": limit})]
    if not waiting:
        return []
    share = max(1, limit // len(waiting))
    uuids: list[str] = []
    for account_id in waiting:
        params = {"account_id": account_id, "now": now, "share": share}
        uuids += [r[0] for r in _EARLIEST_OF.all(conn, params)]
    return uuids


def renew(conn: Connection, owner: str, uuids: list[str], lease_until: float) -> int:
    if not uuids:
        return 0
    result = conn.execute(_RENEW, {"uuids": uuids, "owner": owner, "until": lease_until})
    return int(result.rowcount)


def release_all(conn: Connection, owner: str) -> None:
    """On a clean shutdown: let other workers take our work at once."""
    conn.execute(_RELEASE, {"owner": owner})


def get(conn: Connection, uuid: str, account_id: str | None = None) -> ExecutionState | None:
    if not is_storable_id(uuid, 36):
        return None
    query = select(executions.c.state).where(executions.c.uuid == uuid)
    if account_id is not None:
        query = query.where(executions.c.account_id == account_id)
    row = conn.execute(query).first()
    return ExecutionState.from_json(row[0]) if row else None


def encode_cursor(created_at: float, uuid: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at, uuid]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, str]:
    created_at, uuid = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    if not isinstance(uuid, str) or "\x00" in uuid:
        raise ValueError("not a cursor this API gave")
    return float(created_at), uuid


def list_for(
    conn: Connection,
    account_id: str,
    *,
    uuid: str | None = None,
    flow_id: str | None = None,
    status: str | None = None,
    request_id: str | None = None,
    contact: str | None = None,
    since: float | None = None,
    until: float | None = None,
    limit: int = 50,
    after: tuple[float, str] | None = None,
) -> list[Any]:
    """Newest first, created in [since, until); ``after`` is the (created_at, uuid) of the
    last row of the previous page. Each filter has an index ending in (created_at, uuid)."""
    c = executions.c
    query = select(
        c.uuid,
        c.flow_id,
        c.version,
        c.request_id,
        c.status,
        c.contact,
        c.created_at,
        c.finished_at,
        c.error_reason,
    ).where(c.account_id == account_id)
    if uuid:
        query = query.where(c.uuid == uuid)
    if flow_id:
        query = query.where(c.flow_id == flow_id)
    if status:
        query = query.where(c.status == status)
    if request_id:
        query = query.where(c.request_id == request_id)
    if contact:
        query = query.where(c.contact == contact)
    query = newest_first(
        query, c.created_at, c.uuid, after=after, limit=limit, since=since, until=until
    )
    return list(conn.execute(query))


def count_by_status(conn: Connection, request_id: str) -> dict[str, int]:
    from sqlalchemy import func

    rows = conn.execute(
        select(executions.c.status, func.count())
        .where(executions.c.request_id == request_id)
        .group_by(executions.c.status)
    )
    return {r[0]: int(r[1]) for r in rows}
