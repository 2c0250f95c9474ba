"""The outbound (OBD) create logic, shared by ``POST /kairos-apis/outbound/create``,
``/kairos-apis/outbounddialer/create`` and the ``createOutbound`` internal webhook.

Checking the body is pure (``outbound_body``, re-exported here). ``create``
authenticates the flow by its security-id and writes the request row and one PENDING
execution per valid call in **one** transaction: a request is accepted whole or not at
all, and a start in the future is just a row with a later ``due_at``, so delayed starts
survive restarts. The executions are built and admitted as the trigger's are
(``pending_execution``, the runner's ``admit`` lent as ``ExecutionIntake``); the worker's
claim loop starts them when they are due.
"""

from __future__ import annotations

import hmac
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.engine.context import Services
from flowhook.engine.flow import CompiledFlow
from flowhook.engine.state import ExecutionState
from flowhook.engine.triggers import pending_execution
from flowhook.errors import NotFound
from flowhook.internal.outbound_body import (
    MAX_CALLS,
    Call,
    Envelope,
    InvalidCall,
    Rejected,
    ResponseCode,
    check_call,
    is_key_name,
    parse_body,
    parse_envelope,
)
from flowhook.store import requests as request_repo
from flowhook.store.catalog import Catalog
from flowhook.store.db import Store
from flowhook.store.flows import FlowRecord
from flowhook.store.intake import ExecutionIntake, NewExecutions
from flowhook.store.requests import RequestRecord

__all__ = [
    "MAX_CALLS",
    "Accepted",
    "Call",
    "Envelope",
    "InvalidCall",
    "Rejected",
    "ResponseCode",
    "check_call",
    "create",
    "is_key_name",
    "parse_body",
    "parse_envelope",
]

FLOW_ID = re.compile(r"^[A-Za-z0-9]{1,8}$")


@dataclass
class Accepted:
    code: ResponseCode
    request_id: str | None
    call_details: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {
            "api-response-code": int(self.code),
            "api-response-message": self.code.message,
            "request-id": self.request_id,
            "call-details": self.call_details,
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> Accepted:
        return cls(
            ResponseCode(body["api-response-code"]),
            body.get("request-id"),
            list(body.get("call-details") or []),
        )


# creating -------------------------------------------------------------------------------


def _details(calls: list[Call | InvalidCall], uuids: dict[int, str]) -> list[dict[str, Any]]:
    details: list[dict[str, Any]] = []
    for call in calls:
        if isinstance(call, Call):
            details.append(
                {"client-identifier": call.client_identifier, "phonon-uuid": uuids[call.index]}
            )
        else:
            details.append(
                {
                    "client-identifier": call.client_identifier,
                    "phonon-uuid": None,
                    "api-response-code": int(call.code),
                    "api-response-message": call.code.message,
                    "detail": call.reason,
                }
            )
    return details


@dataclass(frozen=True)
class _Target:
    """The flow a request starts, authenticated: its record, account and compiled version."""

    record: FlowRecord
    account: Account
    flow: CompiledFlow


async def create(
    services: Services,
    envelope: Envelope,
    *,
    flow_types: tuple[str, ...],
    source: str,
    checksum: str | None = None,
    ip_allowed: Callable[[Account], bool] | None = None,
    caller_account: str | None = None,
    request_id: str | None = None,
) -> Accepted:
    """Authenticate, validate every call and persist the request with its executions.

    ``ip_allowed`` checks the caller's address against the account (the HTTP API);
    ``caller_account`` confines an in-process caller to its own account's flows;
    ``request_id`` given by the caller makes a retry return the first answer
    (createOutbound replayed after a crash starts nothing twice).
    """
    store = services.get(Store)
    now = services.clock()
    target = await _authenticate(
        services.get(Catalog), envelope, flow_types, ip_allowed, caller_account
    )
    if request_id is not None:
        given = request_id
        known = await store.read(lambda c: request_repo.get(c, given))
        if known is not None and known.response is not None:
            return Accepted.from_body(known.response)
    request_id = request_id or str(uuid.uuid4())

    checked = [
        check_call(raw, i, target.account.default_region, now)
        for i, raw in enumerate(envelope.calls)
    ]
    valid = [c for c in checked if isinstance(c, Call)]
    invalid = [c for c in checked if isinstance(c, InvalidCall)]
    states = {c.index: _state(target, envelope, c, request_id, now) for c in valid}
    details = _details(checked, {i: s.uuid for i, s in states.items()})
    if not valid:
        first = invalid[0]
        raise Rejected(first.code, first.reason, details)
    outcome = Accepted(
        ResponseCode.PARTIAL_SUCCESS if invalid else ResponseCode.SUCCESS, request_id, details
    )
    row = _request_row(target, envelope, request_id, source, checked, valid, outcome, now)
    # One admission per start time, each through the runner's path (the trigger's), all
    # written in the transaction that stores the request; the claim loops start them.
    groups: dict[float, list[ExecutionState]] = {}
    for call in valid:
        groups.setdefault(call.start_at or now, []).append(states[call.index])
    admit = services.get(ExecutionIntake).admit
    admissions = [
        admit(NewExecutions(group, now, start_at=due, flow=target.flow, run_here=False))
        for due, group in groups.items()
    ]

    def persist(conn: Connection) -> Accepted | None:
        known = request_repo.get(conn, row.request_id)
        if known is not None and known.response is not None:
            return Accepted.from_body(known.response)
        if checksum is not None and request_repo.checksum_seen(conn, row.account_id, checksum):
            return None
        request_repo.insert(conn, row, checksum)
        for admission in admissions:
            admission.write(conn)
        return outcome

    stored = await store.write(persist)
    if stored is None:
        raise Rejected(ResponseCode.CHECKSUM_REPEATED, "an identical request was already accepted")
    if stored is outcome:
        for admission in admissions:
            admission.after_commit()
    return stored


async def _authenticate(
    catalog: Catalog,
    envelope: Envelope,
    flow_types: tuple[str, ...],
    ip_allowed: Callable[[Account], bool] | None,
    caller_account: str | None,
) -> _Target:
    """The flow the envelope names, once its security-id, the caller's account and address,
    its version and its type allow starting it; refused with the original's body codes."""
    if not FLOW_ID.match(envelope.flow_id):
        raise Rejected(ResponseCode.INVALID_FLOW_ID)
    try:
        record = await catalog.flow_record(envelope.flow_id)
    except NotFound:
        raise Rejected(ResponseCode.INVALID_FLOW_ID) from None
    if caller_account is not None and record.account_id != caller_account:
        raise Rejected(ResponseCode.INVALID_FLOW_ID, "the flow is not in this account")
    if not hmac.compare_digest(
        envelope.security_id.encode("utf-8", "replace"), record.security_id.encode()
    ):
        raise Rejected(ResponseCode.INVALID_SECURITY_ID)
    account = await catalog.account(record.account_id)
    if ip_allowed is not None and not ip_allowed(account):
        raise Rejected(ResponseCode.IP_NOT_WHITELISTED)
    try:
        flow = catalog.compiled(record, envelope.version)
    except NotFound:
        raise Rejected(
            ResponseCode.INVALID_FLOW_VERSION,
            "the flow has no production version (publish it, or use api-version TEST)",
        ) from None
    flow_type = flow.document.type
    if flow_type not in flow_types:
        raise Rejected(
            ResponseCode.INVALID_FLOW_ID,
            f"flow {record.flow_id} is of type {flow_type}; this endpoint starts "
            + " or ".join(flow_types)
            + " flows",
        )
    return _Target(record, account, flow)


def _request_row(
    target: _Target,
    envelope: Envelope,
    request_id: str,
    source: str,
    checked: list[Call | InvalidCall],
    valid: list[Call],
    outcome: Accepted,
    now: float,
) -> RequestRecord:
    """The request's record: its counts, its first start and the answer a retry gets."""
    starts = [c.start_at for c in valid if c.start_at is not None]
    return RequestRecord(
        request_id=request_id,
        account_id=target.account.id,
        flow_id=target.record.flow_id,
        flow_type=target.flow.document.type,
        version=envelope.version,
        source=source,
        records_loaded=len(checked),
        records_valid=len(valid),
        records_invalid=len(checked) - len(valid),
        start_at=min(starts) if len(starts) == len(valid) else now,
        created_at=now,
        response=outcome.body(),
    )


def _state(
    target: _Target, envelope: Envelope, call: Call, request_id: str, now: float
) -> ExecutionState:
    """A PENDING execution for one call, built as the trigger builds one, from the values
    and numbers ``check_call`` already checked and normalised. Every normalised number is
    kept in ``$flow.syskey.contactNumbers``; the first is the called number and the contact
    whose ``$user.key`` values apply. (A voice channel will try the alternates in turn.)"""
    variables: dict[str, Any] = dict(call.variables)
    variables["flow.syskey.contactNumbers"] = list(call.numbers)
    if call.client_identifier is not None:
        variables["flow.syskey.clientID"] = call.client_identifier
    return pending_execution(
        target.account.id,
        target.record.flow_id,
        target.flow.document.type,
        version=envelope.version,
        variables=variables,
        cli=None,
        dnis=call.numbers[0],
        request_id=request_id,
        now=now,
    )
