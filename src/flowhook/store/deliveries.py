"""Repository functions for deliveries (the webhook outbox) and their attempt log.

A delivery row is created in the transaction that ends an execution (or by a
fire-and-forget webhook widget) and is due work until it SUCCEEDED or FAILED (dead
letter). Its id is the ``webhook-id`` header: stable across retries and replays.

While an endpoint's circuit is open (``webhooks/breaker.py``) its deliveries are moved as
a whole: :func:`postpone` pushes them past the cool-down and dead-letters those older than
the whole retry schedule, in two statements however many there are.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, overload

from sqlalchemy import Connection, and_, bindparam, func, or_, select, text, update

from flowhook.domain.message import AttemptRecord, OutgoingRequest
from flowhook.errors import Code
from flowhook.store import rollup
from flowhook.store.db import json_dumps
from flowhook.store.pages import newest_first
from flowhook.store.raw import Statement
from flowhook.store.tables import accounts, deliveries, delivery_attempts, webhooks
from flowhook.store.webhooks import SavedWebhook, for_sending

PENDING, SUCCEEDED, FAILED = "PENDING", "SUCCEEDED", "FAILED"
CIRCUIT_OPEN = Code.CIRCUIT_OPEN
"""``last_error`` of a delivery held back (or dead-lettered) while its endpoint was down."""


@dataclass
class Delivery:
    id: str
    account_id: str
    execution_uuid: str | None
    webhook_id: str | None
    endpoint: str
    request: OutgoingRequest
    secret_headers: bytes | None
    status: str
    attempts: int
    signing_key: bytes | None = None
    """The account's signing secret (encrypted) as read with the delivery: a rotation is
    seen by the next attempt in every process, without a cache to invalidate."""
    target: SavedWebhook | None = None
    """The delivery's saved webhook as it is now (None: none, or deleted)."""
    order_key: str | None = None
    sequence: int | None = None
    """An ordered webhook's delivery: its key and its place in it (``webhooks/ordering``)."""
    released_after: str | None = None
    """The dead letter just before it in its key's order, if there is one: sent after it."""


class DeadLetter(NamedTuple):
    """A delivery dead-lettered with others in one statement (``postpone``)."""

    id: str
    account_id: str
    webhook_id: str | None


class Inserted(NamedTuple):
    """What the insert of a delivery read in the same statement."""

    signing_key: bytes | None
    webhook_version: float | None
    """``updated_at`` of the delivery's webhook now (None if it has none or it is gone)."""


def request_to_json(req: OutgoingRequest) -> dict[str, Any]:
    return {
        "method": req.method,
        "url": req.url,
        "headers": req.headers,
        "body": base64.b64encode(req.body).decode() if req.body is not None else None,
        "timeout_s": req.timeout_s,
    }


def request_from_json(data: dict[str, Any]) -> OutgoingRequest:
    body = data.get("body")
    return OutgoingRequest(
        method=data["method"],
        url=data["url"],
        headers=dict(data.get("headers") or {}),
        body=base64.b64decode(body) if body is not None else None,
        timeout_s=float(data.get("timeout_s", 10.0)),
    )


def _delivery(row: Any) -> Delivery:
    target = None
    if row.webhook_updated_at is not None:
        target = for_sending(
            row.webhook_id,
            row.account_id,
            row.webhook_spec,
            row.webhook_password,
            row.webhook_secrets,
            row.webhook_updated_at,
            row.webhook_health,
            row.webhook_rate_limit,
            row.webhook_max_in_flight,
        )
    return Delivery(
        id=row.id,
        account_id=row.account_id,
        execution_uuid=row.execution_uuid,
        webhook_id=row.webhook_id,
        endpoint=row.endpoint,
        request=request_from_json(row.request),
        secret_headers=row.secret_headers,
        status=row.status,
        attempts=row.attempts,
        signing_key=row.signing_key,
        target=target,
        order_key=row.order_key,
        sequence=row.sequence,
    )


def _for_send() -> Any:
    """The delivery with what sending it needs, in one query: the account's signing secret
    and its saved webhook as they are now."""
    w = webhooks.c
    return select(
        deliveries,
        accounts.c.signing_secret.label("signing_key"),
        w.spec.label("webhook_spec"),
        w.password.label("webhook_password"),
        w.secrets.label("webhook_secrets"),
        w.updated_at.label("webhook_updated_at"),
        w.health.label("webhook_health"),
        w.rate_limit.label("webhook_rate_limit"),
        w.max_in_flight.label("webhook_max_in_flight"),
    ).select_from(
        deliveries.outerjoin(accounts, accounts.c.id == deliveries.c.account_id).outerjoin(
            webhooks,
            (w.id == deliveries.c.webhook_id) & (w.account_id == deliveries.c.account_id),
        )
    )


_LEASED = _for_send().where(
    deliveries.c.id.in_(bindparam("ids", expanding=True)),
    deliveries.c.lease_owner == bindparam("owner"),
)


@overload
def insert(
    conn: Connection,
    *,
    delivery_id: str,
    account_id: str,
    execution_uuid: str | None,
    webhook_id: str | None,
    endpoint: str,
    request: OutgoingRequest,
    secret_headers: bytes | None,
    due_at: float,
    lease_owner: str | None,
    lease_until: float | None,
    now: float,
    order_key: str | None = None,
    later: Literal[False] = False,
) -> Inserted | None: ...


@overload
def insert(
    conn: Connection,
    *,
    delivery_id: str,
    account_id: str,
    execution_uuid: str | None,
    webhook_id: str | None,
    endpoint: str,
    request: OutgoingRequest,
    secret_headers: bytes | None,
    due_at: float,
    lease_owner: str | None,
    lease_until: float | None,
    now: float,
    order_key: str | None = None,
    later: Literal[True],
) -> Callable[[], Inserted | None]: ...


def insert(
    conn: Connection,
    *,
    delivery_id: str,
    account_id: str,
    execution_uuid: str | None,
    webhook_id: str | None,
    endpoint: str,
    request: OutgoingRequest,
    secret_headers: bytes | None,
    due_at: float,
    lease_owner: str | None,
    lease_until: float | None,
    now: float,
    order_key: str | None = None,
    later: bool = False,
) -> Inserted | Callable[[], Inserted | None] | None:
    """Insert once: a second insert of the same id (a replayed step) is a no-op (None).

    ``later``: what it read is returned by a function to call after the commit. The insert
    is queued (store/raw.py), so that the transaction's other writes go in the same round
    trip on PostgreSQL, and read when the queue is sent (at the commit at the latest). An
    ordered webhook's delivery is inserted at once (its key's lock comes first).

    An ordered webhook's delivery (``order_key``) gets the next ``sequence`` of its key.
    On PostgreSQL the key's lock (a transaction-scoped advisory lock) makes the inserts of
    one key take turns across processes, so the next number is read after the last one is
    committed; SQLite's writers take turns already."""
    row = {
        "id": delivery_id,
        "account_id": account_id,
        "execution_uuid": execution_uuid,
        "webhook_id": webhook_id,
        "endpoint": endpoint,
        "request": json_dumps(request_to_json(request)),
        "secret_headers": secret_headers,
        "status": PENDING,
        "attempts": 0,
        "due_at": due_at,
        "lease_owner": lease_owner,
        "lease_until": lease_until,
        "created_at": now,
        "updated_at": now,
        "schedule_started_at": now,
        # due later than its creation only while its endpoint's circuit is open: held
        "last_error": CIRCUIT_OPEN if due_at > now else None,
        "of_account": account_id,  # parameters apart: PostgreSQL types each use on its own
        "of_webhook": webhook_id,
        "of_webhook_account": account_id,
    }
    if order_key is None and later:
        # queued (store/raw.py): sent with the transaction's next statement or its commit,
        # whose answer is read then; counted in the roll-up if it inserted a row
        returned = _INSERT_ONCE.first_later(conn, row)
        rollup.delivery_created_if(conn, returned, account_id, now)
        return lambda: _inserted(returned.value())
    if order_key is None:
        got = _INSERT_ONCE.first(conn, row)
    else:
        if conn.dialect.name == "postgresql":
            _LOCK_KEY.run(conn, {"key": f"{webhook_id}\n{order_key}"})
        row.update(order_key=order_key, of_order_webhook=webhook_id, of_order_key=order_key)
        got = _INSERT_ORDERED.first(conn, row)
    if got is None:
        return None
    rollup.delivery_created(conn, account_id, now)
    inserted = _inserted(got)
    return inserted if not later else lambda: inserted


def _inserted(got: tuple[Any, ...] | None) -> Inserted | None:
    if got is None:
        return None
    key = got[1]
    return Inserted(bytes(key) if key is not None else None, got[2])


# The claim's statements, written once (store/raw.py: run on the driver; on PostgreSQL
# the select goes in one round trip with the transaction's BEGIN): every poll of every
# delivery loop runs the select, mostly to find nothing.
_FREE = "(lease_until IS NULL OR lease_until < :now)"  # no lease, or an expired one


def _claimable(where: str = "") -> Statement:
    """The oldest due deliveries whose lease is free, narrowed by ``where``."""
    return Statement(
        f"SELECT id, endpoint FROM deliveries WHERE due_at <= :now AND {_FREE}{where}"
        " ORDER BY due_at LIMIT :limit",
        skip_locked=True,
    )


def _not_in(column: str, values: list[str], prefix: str) -> tuple[str, dict[str, str]]:
    """`` column NOT IN (:prefix0, …)`` and its parameters."""
    names = [f"{prefix}{i}" for i in range(len(values))]
    return f"{column} NOT IN ({', '.join(':' + n for n in names)})", dict(
        zip(names, values, strict=True)
    )


_CLAIM = _claimable()
_LEASE = (
    update(deliveries)
    .where(deliveries.c.id.in_(bindparam("ids", expanding=True)), text(_FREE))
    .values(lease_owner=bindparam("owner"), lease_until=bindparam("until"))
)


def claim_due(
    conn: Connection,
    owner: str,
    now: float,
    lease_until: float,
    limit: int,
    *,
    per_endpoint: int | None = None,
    rooms: Mapping[str, int] | None = None,
    limited: Collection[str] = (),
) -> list[Delivery]:
    """Lease up to ``limit`` due deliveries whose lease is free or expired, oldest first.

    The deliveries of the ``limited`` webhooks are left out: they are claimed through
    their limiters (``store/webhook_limits.py``).

    At most ``per_endpoint`` of them to one endpoint, or ``rooms[endpoint]`` for the
    endpoints listed there (0 leaves the endpoint out): the backlog of one receiver cannot
    take the batch, or the caller's in-flight budget, that other receivers' deliveries need.
    """
    rooms = rooms or {}
    full = sorted(endpoint for endpoint, room in rooms.items() if room <= 0)
    params: dict[str, Any] = {"now": now, "limit": limit}
    statement = _CLAIM
    if limited or full:  # rare: a statement of its own
        where = ""
        if limited:
            clause, values = _not_in("webhook_id", sorted(limited), "limited")
            where += f" AND (webhook_id IS NULL OR {clause})"
            params.update(values)
        if full:
            clause, values = _not_in("endpoint", full, "full")
            where += f" AND {clause}"
            params.update(values)
        statement = _claimable(where)
    default = limit if per_endpoint is None else per_endpoint
    taken: Counter[str] = Counter()
    ids: list[str] = []
    for delivery_id, endpoint in statement.all(conn, params):
        if taken[endpoint] < rooms.get(endpoint, default):
            taken[endpoint] += 1
            ids.append(delivery_id)
    return lease(conn, owner, ids, now, lease_until)


def lease(
    conn: Connection, owner: str, ids: list[str], now: float, lease_until: float
) -> list[Delivery]:
    """Lease the deliveries ``ids`` (locked by the caller's claim) to ``owner``: those
    whose lease is still free, read with what sending them needs."""
    if not ids:
        return []
    conn.execute(_LEASE, {"ids": ids, "now": now, "owner": owner, "until": lease_until})
    rows = conn.execute(_LEASED, {"ids": ids, "owner": owner})
    return _released(conn, [_delivery(r) for r in rows])


def _released(conn: Connection, found: list[Delivery]) -> list[Delivery]:
    """Mark each ordered delivery whose predecessor in its key's order is a dead letter
    (``released_after``): it goes out because that one was given up."""
    for delivery in found:
        if delivery.sequence is not None:
            delivery.released_after = _dead_before(
                conn, delivery.webhook_id, delivery.order_key, delivery.sequence
            )
    return found


def _dead_before(
    conn: Connection, webhook_id: str | None, order_key: str | None, sequence: int | None
) -> str | None:
    """The id of the delivery just before ``sequence`` in its key's order, if it is a
    dead letter (uq_deliveries_order, read backwards: one row)."""
    if sequence is None or sequence <= 1:
        return None
    c = deliveries.c
    before = conn.execute(
        select(c.id, c.status)
        .where(c.webhook_id == webhook_id, c.order_key == order_key, c.sequence < sequence)
        .order_by(c.sequence.desc())
        .limit(1)
    ).first()
    return str(before.id) if before is not None and before.status == FAILED else None


def release(conn: Connection, owner: str, delivery_id: str, *, due_at: float, now: float) -> None:
    """Hand back a delivery this process leased but did not send (its endpoint's circuit
    is open): due again at ``due_at``, no attempt counted."""
    c = deliveries.c
    conn.execute(
        update(deliveries)
        .where(c.id == delivery_id, c.lease_owner == owner, c.status == PENDING)
        .values(
            due_at=due_at,
            lease_owner=None,
            lease_until=None,
            last_error=CIRCUIT_OPEN,
            updated_at=now,
        )
    )


def postpone(
    conn: Connection,
    endpoint: str,
    *,
    until: float,
    owner: str,
    started_before: float,
    now: float,
) -> tuple[list[DeadLetter], int]:
    """Move the endpoint's pending deliveries due before ``until`` to ``until``, without
    counting attempts; dead-letter those whose schedule started before ``started_before``
    (they would have run out of attempts by now). Rows another live worker holds are left
    to it. Returns (the dead letters, how many were postponed).
    """
    c = deliveries.c
    waiting = and_(
        c.endpoint == endpoint,
        c.status == PENDING,
        c.due_at < until,
        or_(c.lease_until.is_(None), c.lease_until < now, c.lease_owner == owner),
    )
    dead = conn.execute(
        update(deliveries)
        .where(waiting, c.schedule_started_at < started_before)
        .values(
            status=FAILED,
            due_at=None,
            lease_owner=None,
            lease_until=None,
            last_error=CIRCUIT_OPEN,
            updated_at=now,
            finished_at=now,
        )
        .returning(c.id, c.account_id, c.webhook_id)
    ).all()
    for _id, account_id, webhook_id in dead:
        rollup.delivery_finished(conn, account_id, webhook_id, now, succeeded=False)
    postponed = conn.execute(
        update(deliveries)
        .where(waiting)
        .values(
            due_at=until,
            lease_owner=None,
            lease_until=None,
            last_error=CIRCUIT_OPEN,
            updated_at=now,
        )
    ).rowcount
    return [DeadLetter(*row) for row in dead], int(postponed or 0)


def get_for_send(conn: Connection, delivery_id: str) -> Delivery | None:
    row = conn.execute(_for_send().where(deliveries.c.id == delivery_id)).first()
    return _released(conn, [_delivery(row)])[0] if row else None


def retarget(conn: Connection, account_id: str, webhook_id: str, endpoint: str) -> None:
    """The webhook now points at ``endpoint``: its pending deliveries count there (claims'
    per-endpoint limits, the circuit breaker) from their next attempt."""
    c = deliveries.c
    conn.execute(
        update(deliveries)
        .where(
            c.account_id == account_id,
            c.webhook_id == webhook_id,
            c.status == PENDING,
            c.endpoint != endpoint,
        )
        .values(endpoint=endpoint)
    )


def renew(conn: Connection, owner: str, ids: list[str], lease_until: float) -> None:
    if ids:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(ids), deliveries.c.lease_owner == owner)
            .values(lease_until=lease_until)
        )


def record_attempt(
    conn: Connection,
    delivery_id: str,
    *,
    attempt: AttemptRecord,
    status: str,
    next_due: float | None,
    now: float,
    owner: tuple[str, str | None] | None = None,
) -> None:
    """Log one attempt and move the delivery on (retry later, succeeded or dead letter),
    and count both in the last day's figures (the account's and the webhook's).

    ``owner``: the delivery's (account id, webhook id), which never change once it is
    inserted, from the caller that holds the delivery. Then nothing is read back: the log
    and the update are queued (store/raw.py) and go with the transaction's next statement
    or its commit, so a batch of attempts is one round trip on PostgreSQL. Without it, the
    update's answer says whose figures they are (and that the row exists)."""
    _INSERT_ATTEMPT.later(
        conn,
        {
            "url": None,
            **attempt,
            "delivery_id": delivery_id,
            "of": delivery_id,  # a parameter apart: PostgreSQL types each use on its own
            "of_delivery": delivery_id,
            "request_headers": json_dumps(attempt["request_headers"]),
        },
    )
    params = {
        "id": delivery_id,
        "status": status,
        "due_at": next_due,
        "last_status_code": attempt.get("status_code"),
        "last_error": attempt.get("error_reason"),
        "updated_at": now,
        "finished_at": now if status != PENDING else None,
    }
    if owner is None:
        row = _RECORD_READ.first(conn, params)
        if row is None:
            return
        account_id, webhook_id = row
    else:
        _RECORD.later(conn, params)
        account_id, webhook_id = owner
    ok = attempt.get("error_reason") is None
    rollup.attempt(
        conn, account_id, webhook_id, attempt["at"], ok=ok, duration_ms=attempt["duration_ms"]
    )
    if status != PENDING:
        rollup.delivery_finished(conn, account_id, webhook_id, now, succeeded=status == SUCCEEDED)


# The statements every flow-complete delivery runs, given to the driver as they are
# (store/raw.py). An insert of an id that exists (a replayed step) inserts nothing.
_COLUMNS = (
    "id account_id execution_uuid webhook_id endpoint request secret_headers status attempts"
    " due_at lease_owner lease_until created_at updated_at schedule_started_at last_error"
)
# read in the same statement: what sending it needs to know is current (Delivery)
_RETURNING = (
    " ON CONFLICT DO NOTHING RETURNING id,"
    " (SELECT signing_secret FROM accounts WHERE id = :of_account),"
    " (SELECT updated_at FROM webhooks"
    " WHERE id = :of_webhook AND account_id = :of_webhook_account)"
)
_INSERT_ONCE = Statement.insert("deliveries", _COLUMNS, suffix=_RETURNING)
# an ordered webhook's delivery: the next sequence of its key (uq_deliveries_order)
_INSERT_ORDERED = Statement(
    f"INSERT INTO deliveries ({', '.join(_COLUMNS.split())}, order_key, sequence)"
    f" VALUES ({', '.join(':' + n for n in _COLUMNS.split())}, :order_key,"
    " (SELECT COALESCE(MAX(sequence), 0) + 1 FROM deliveries"
    " WHERE webhook_id = :of_order_webhook AND order_key = :of_order_key))" + _RETURNING
)
_LOCK_KEY = Statement("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_INSERT_ATTEMPT = Statement(
    "INSERT INTO delivery_attempts (delivery_id, number, at, url, status_code, duration_ms,"
    " request_headers, response_excerpt, error_reason, error_message, webhook_id)"
    " VALUES (:delivery_id,"
    " (SELECT COALESCE(MAX(number), 0) + 1 FROM delivery_attempts"
    " WHERE delivery_id = :of),"
    " :at, :url, :status_code, :duration_ms, :request_headers, :response_excerpt,"
    " :error_reason, :error_message,"
    " (SELECT webhook_id FROM deliveries WHERE id = :of_delivery))"
)
_RECORD_SQL = (
    "UPDATE deliveries SET attempts = attempts + 1, status = :status, due_at = :due_at,"
    " lease_owner = NULL, lease_until = NULL, last_status_code = :last_status_code,"
    " last_error = :last_error, updated_at = :updated_at, finished_at = :finished_at"
    " WHERE id = :id"
)
_RECORD = Statement(_RECORD_SQL)
# whose figures the attempt counts in, when the caller does not say
_RECORD_READ = Statement(_RECORD_SQL + " RETURNING account_id, webhook_id")


def replay(conn: Connection, account_id: str, delivery_id: str, now: float) -> bool:
    """Send a finished delivery (SUCCEEDED or FAILED) again from the start of the schedule,
    with the same webhook-id. False when no row changed: the delivery does not exist or is
    still PENDING (an attempt in flight, or one scheduled).

    One conditional UPDATE, not a read then a write: of two replays, or a replay and the
    attempt that is finishing, exactly one wins, on SQLite and PostgreSQL alike. A PENDING
    delivery is never reset, so no second attempt can start beside the one in flight.
    """
    c = deliveries.c
    result = conn.execute(
        update(deliveries)
        .where(
            c.id == delivery_id,
            c.account_id == account_id,
            c.status.in_((SUCCEEDED, FAILED)),
        )
        .values(restarted(now))
    )
    return bool(result.rowcount)


def restarted(now: float) -> dict[str, Any]:
    """The values that send a finished delivery again from the start of its schedule (a
    replay, a recovery)."""
    return {
        "status": PENDING,
        "attempts": 0,
        "due_at": now,
        "lease_owner": None,
        "lease_until": None,
        "finished_at": None,
        "updated_at": now,
        "schedule_started_at": now,
    }


def status_of(conn: Connection, account_id: str, delivery_id: str) -> str | None:
    """A delivery's status, or None when the account has no such delivery."""
    c = deliveries.c
    found: str | None = conn.execute(
        select(c.status).where(c.id == delivery_id, c.account_id == account_id)
    ).scalar_one_or_none()
    return found


def _with_attempts_made(query: Any) -> Any:
    """Every attempt ever made, replays included: ``attempts`` restarts at 0 on a replay,
    as it is the position in the retry schedule."""
    made = (
        select(func.count())
        .select_from(delivery_attempts)
        .where(delivery_attempts.c.delivery_id == deliveries.c.id)
        .scalar_subquery()
    )
    return query.add_columns(made.label("attempts_made"))


def view(conn: Connection, account_id: str, delivery_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        _with_attempts_made(select(deliveries)).where(
            deliveries.c.id == delivery_id, deliveries.c.account_id == account_id
        )
    ).first()
    if row is None:
        return None
    attempts = conn.execute(
        select(delivery_attempts)
        .where(delivery_attempts.c.delivery_id == delivery_id)
        .order_by(delivery_attempts.c.number)
    )
    out = _summary(row)
    out["released_after"] = _dead_before(conn, row.webhook_id, row.order_key, row.sequence)
    request = dict(row.request)
    body = request.pop("body", None)
    request["body"] = (
        base64.b64decode(body).decode("utf-8", errors="replace") if body is not None else None
    )
    out["request"] = request
    out["attempts"] = [
        {
            "number": a.number,
            "at": a.at,
            "url": a.url,
            "status_code": a.status_code,
            "duration_ms": a.duration_ms,
            "request_headers": a.request_headers,
            "response_excerpt": a.response_excerpt,
            "error_reason": a.error_reason,
            "error_message": a.error_message,
        }
        for a in attempts
    ]
    return out


def _summary(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "execution_uuid": row.execution_uuid,
        "webhook_id": row.webhook_id,
        "endpoint": row.endpoint,
        "status": row.status,
        "attempts_made": row.attempts_made,
        "next_attempt_at": row.due_at,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "finished_at": row.finished_at,
        "order_key": row.order_key,
        "sequence": row.sequence,
    }


def list_for(
    conn: Connection,
    account_id: str,
    *,
    execution: str | None = None,
    status: str | None = None,
    webhook: str | None = None,
    since: float | None = None,
    until: float | None = None,
    limit: int = 50,
    after: tuple[float, str] | None = None,
) -> list[dict[str, Any]]:
    """Newest first, created in [since, until); each filter has an index ending in
    (created_at, id)."""
    c = deliveries.c
    query = _with_attempts_made(select(deliveries)).where(c.account_id == account_id)
    if execution:
        query = query.where(c.execution_uuid == execution)
    if status:
        query = query.where(c.status == status)
    if webhook:
        query = query.where(c.webhook_id == webhook)
    query = newest_first(
        query, c.created_at, c.id, after=after, limit=limit, since=since, until=until
    )
    return [_summary(r) for r in conn.execute(query)]


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(deliveries.c.status, func.count()).group_by(deliveries.c.status))
    return {r[0]: int(r[1]) for r in rows}
