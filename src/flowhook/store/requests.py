"""Repository functions for requests: one row per outbound API call or createOutbound,
grouping the executions it started (the "Request Summary" of the original console)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from flowhook.store.db import is_storable_id
from flowhook.store.tables import requests


@dataclass(frozen=True)
class RequestRecord:
    request_id: str
    account_id: str
    flow_id: str
    flow_type: str
    version: str
    source: str
    records_loaded: int
    records_valid: int
    records_invalid: int
    start_at: float | None
    created_at: float
    response: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: Any) -> RequestRecord:
        return cls(
            request_id=row.request_id,
            account_id=row.account_id,
            flow_id=row.flow_id,
            flow_type=row.flow_type,
            version=row.version,
            source=row.source,
            records_loaded=row.records_loaded,
            records_valid=row.records_valid,
            records_invalid=row.records_invalid,
            start_at=row.start_at,
            created_at=row.created_at,
            response=row.response,
        )


def insert(conn: Connection, record: RequestRecord, checksum: str | None) -> None:
    conn.execute(
        requests.insert().values(
            request_id=record.request_id,
            account_id=record.account_id,
            flow_id=record.flow_id,
            flow_type=record.flow_type,
            version=record.version,
            source=record.source,
            checksum=checksum,
            records_loaded=record.records_loaded,
            records_valid=record.records_valid,
            records_invalid=record.records_invalid,
            start_at=record.start_at,
            created_at=record.created_at,
            response=record.response,
        )
    )


def get(conn: Connection, request_id: str, account_id: str | None = None) -> RequestRecord | None:
    if not is_storable_id(request_id, 36):
        return None
    query = select(requests).where(requests.c.request_id == request_id)
    if account_id is not None:
        query = query.where(requests.c.account_id == account_id)
    row = conn.execute(query).first()
    return RequestRecord.from_row(row) if row else None


def checksum_seen(conn: Connection, account_id: str, checksum: str) -> bool:
    row = conn.execute(
        select(requests.c.request_id).where(
            requests.c.account_id == account_id, requests.c.checksum == checksum
        )
    ).first()
    return row is not None
