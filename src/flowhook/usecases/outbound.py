"""Outbound requests: the original product's outbound (OBD) API — one request starts a flow
once per call of its body — and the summary of a request (the original's Request Summary).

The create logic is :mod:`flowhook.internal.outbound`'s, shared with the ``createOutbound``
internal method; this module is the entry point of callers from outside (the API): it reads
the body as the original does, authenticates by the flow's security-id and the caller's
address against the account's IP whitelist, and turns a store failure into the original's
``FAILURE`` body code. Every refusal is :class:`~flowhook.internal.outbound.Rejected` with
its body code, never an HTTP status.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import structlog
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from flowhook.domain.account import Account
from flowhook.engine.state import Status
from flowhook.errors import Code, NotFound
from flowhook.internal import outbound
from flowhook.internal.outbound import Accepted, Rejected, ResponseCode
from flowhook.runtime import Runtime
from flowhook.store import executions as execution_repo
from flowhook.store import requests as request_repo
from flowhook.store.requests import RequestRecord
from flowhook.usecases.accounts import ip_allowed

__all__ = [
    "Accepted",
    "Rejected",
    "RequestRecord",
    "RequestSummary",
    "ResponseCode",
    "create",
    "summary",
]

log = structlog.get_logger(__name__)

Kind = Literal["outbound", "dialer"]


async def create(rt: Runtime, raw: bytes, *, kind: Kind, address: str | None) -> Accepted:
    """Start the ``kind`` flow the body names once per valid call; ``raw`` is the body as
    sent (an identical body repeated is refused), ``address`` the caller's.

    Raises :class:`Rejected`: with the body code the original answers, or ``FAILURE`` when
    the store failed (the caller may retry; nothing was started)."""

    def allowed(account: Account) -> bool:
        return ip_allowed(address, account.ip_whitelist)

    try:
        return await outbound.create(
            rt.services,
            outbound.parse_body(raw),
            flow_types=(kind,),
            source="api",
            checksum=hashlib.sha256(raw).hexdigest(),
            ip_allowed=allowed,
        )
    except (SQLAlchemyError, OSError):
        log.exception("outbound create failed")
        raise Rejected(ResponseCode.FAILURE, "please retry later") from None


@dataclass(frozen=True)
class RequestSummary:
    """One request's progress: its record (calls loaded, valid, invalid), its executions
    finished, and its status — ``Scheduled`` while every execution waits for a start time
    in the future, ``Completed`` once every execution has finished, ``In process`` in
    between."""

    record: RequestRecord
    records_completed: int
    records_failed: int
    completion_percent: float
    status: str


async def summary(rt: Runtime, account: Account, request_id: str) -> RequestSummary:
    """The account's request ``request_id`` as it stands now."""

    def read(conn: Connection) -> tuple[RequestRecord | None, dict[str, int]]:
        record = request_repo.get(conn, request_id, account.id)
        if record is None:
            return None, {}
        return record, execution_repo.count_by_status(conn, request_id)

    record, counts = await rt.store.read(read)
    if record is None:
        raise NotFound(f"no request {request_id}", code=Code.REQUEST_NOT_FOUND)
    return _summary(record, counts, rt.now())


def _summary(record: RequestRecord, counts: dict[str, int], now: float) -> RequestSummary:
    completed = counts.get(Status.COMPLETED.value, 0)
    failed = counts.get(Status.FAILED.value, 0)
    pending = counts.get(Status.PENDING.value, 0)
    valid = record.records_valid
    finished = completed + failed
    if finished >= valid:
        status = "Completed"
    elif pending == valid and record.start_at is not None and record.start_at > now:
        status = "Scheduled"
    else:
        status = "In process"
    return RequestSummary(
        record=record,
        records_completed=completed,
        records_failed=failed,
        completion_percent=round(100.0 * finished / valid, 1) if valid else 100.0,
        status=status,
    )
