"""Repository functions for flows: a ``test`` version that is edited and a ``prod``
version that ``publish`` copies from it. A name is unique in its account (a unique index:
two writers, even in two processes, cannot both take it)."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Executable, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from flowhook.errors import Conflict
from flowhook.store.db import is_storable_id
from flowhook.store.tables import executions, flows

ALPHANUM = string.ascii_letters + string.digits


def random_id(length: int) -> str:
    return "".join(secrets.choice(ALPHANUM) for _ in range(length))


@dataclass(frozen=True)
class FlowRecord:
    flow_id: str
    account_id: str
    name: str
    security_id: str
    test_doc: dict[str, Any]
    prod_doc: dict[str, Any] | None
    published_at: float | None
    created_at: float
    updated_at: float

    def document(self, version: str) -> dict[str, Any] | None:
        return self.prod_doc if version == "prod" else self.test_doc

    def to_api(self) -> dict[str, Any]:
        return {
            "flow_id": self.flow_id,
            "name": self.name,
            "security_id": self.security_id,
            "test": self.test_doc,
            "prod": self.prod_doc,
            "published_at": self.published_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def _record(row: Any) -> FlowRecord:
    return FlowRecord(
        flow_id=row.flow_id,
        account_id=row.account_id,
        name=row.name,
        security_id=row.security_id,
        test_doc=row.test_doc,
        prod_doc=row.prod_doc,
        published_at=row.published_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


NAME_INDEX = "uq_flows_account_name"


def _name_taken(name: str) -> Conflict:
    return Conflict(
        f"a flow named {name!r} exists already in this account",
        code="FLOW_NAME_TAKEN",
        details={"name": name},
    )


def _breaks_name_rule(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return NAME_INDEX in text or "flows.account_id, flows.name" in text  # PostgreSQL, SQLite


def _write_named(conn: Connection, statement: Executable, name: str) -> None:
    """Run an insert or update that sets a flow's name; ``FLOW_NAME_TAKEN`` when the name
    is another flow's. (On PostgreSQL the failed statement spoils the transaction: the
    group commit rolls the batch back and runs its other writes again without this one.)"""
    try:
        conn.execute(statement)
    except IntegrityError as exc:
        if _breaks_name_rule(exc):
            raise _name_taken(name) from None
        raise


def create(conn: Connection, account_id: str, document: dict[str, Any], now: float) -> FlowRecord:
    flow_id = random_id(8)
    while conn.execute(select(flows.c.flow_id).where(flows.c.flow_id == flow_id)).first():
        flow_id = random_id(8)
    _write_named(
        conn,
        flows.insert().values(
            flow_id=flow_id,
            account_id=account_id,
            name=document["name"],
            security_id=random_id(64),
            test_doc=document,
            prod_doc=None,
            created_at=now,
            updated_at=now,
        ),
        document["name"],
    )
    record = get(conn, flow_id, account_id)
    assert record is not None
    return record


def get(conn: Connection, flow_id: str, account_id: str | None = None) -> FlowRecord | None:
    if not is_storable_id(flow_id, 8):
        return None
    query = select(flows).where(flows.c.flow_id == flow_id)
    if account_id is not None:
        query = query.where(flows.c.account_id == account_id)
    row = conn.execute(query).first()
    return _record(row) if row else None


def list_for(conn: Connection, account_id: str) -> list[FlowRecord]:
    rows = conn.execute(
        select(flows).where(flows.c.account_id == account_id).order_by(flows.c.created_at)
    )
    return [_record(r) for r in rows]


def replace_test(
    conn: Connection, flow_id: str, account_id: str, document: dict[str, Any], now: float
) -> FlowRecord | None:
    _write_named(
        conn,
        update(flows)
        .where(flows.c.flow_id == flow_id, flows.c.account_id == account_id)
        .values(test_doc=document, name=document["name"], updated_at=now),
        document["name"],
    )
    return get(conn, flow_id, account_id)


def publish(conn: Connection, flow_id: str, account_id: str, now: float) -> FlowRecord | None:
    record = get(conn, flow_id, account_id)
    if record is None:
        return None
    conn.execute(
        update(flows)
        .where(flows.c.flow_id == flow_id)
        .values(prod_doc=record.test_doc, published_at=now, updated_at=now)
    )
    return get(conn, flow_id, account_id)


def unfinished_executions(conn: Connection, flow_id: str) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(executions)
            .where(executions.c.flow_id == flow_id, executions.c.due_at.is_not(None))
        ).scalar_one()
    )


def remove(conn: Connection, flow_id: str, account_id: str) -> bool:
    result = conn.execute(
        delete(flows).where(flows.c.flow_id == flow_id, flows.c.account_id == account_id)
    )
    return bool(result.rowcount)
