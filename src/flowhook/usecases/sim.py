"""The simulator's inbound side: a call or an SMS to one of the account's DIDs starts the
flow that lists the DID in ``dids`` (its published version first, else its test version,
so a flow can be tried before it is published); key presses and the caller's hangup are
posted to a live call. The flow then runs exactly as it would for a real call.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flowhook.channels.config import VoiceScript
from flowhook.channels.service import ENDED, Channels, leg_record
from flowhook.domain.account import Account
from flowhook.domain.numbers import normalise
from flowhook.engine.flow import CompiledFlow
from flowhook.engine.state import ExecutionState
from flowhook.engine.triggers import new_execution
from flowhook.errors import Code, Conflict, FlowhookError, NotFound
from flowhook.runtime import Runtime
from flowhook.store import flows as flow_repo
from flowhook.store.flows import FlowRecord


class SimCall(BaseModel):
    """An inbound call: from ``cli`` to the DID ``dnis``, going as ``script`` says (keys
    and the caller's hangup, timed from the answer)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    cli: str = Field(min_length=1, max_length=32)
    dnis: str = Field(min_length=1, max_length=32)
    script: VoiceScript = Field(default_factory=VoiceScript)


class SimSms(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)

    sender: str = Field(alias="from", min_length=1, max_length=32)
    to: str = Field(min_length=1, max_length=32)
    text: str = Field(max_length=1_600)


class SimKeys(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    digits: str = Field(pattern=r"^[0-9*#A-D]{1,32}$")


class NoFlowForDid(NotFound):
    code = Code.NO_FLOW_FOR_DID


def _number(raw: str, account: Account) -> str:
    return normalise(raw, account.default_region)


def _dids(doc: dict[str, Any] | None, account: Account) -> set[str]:
    found: set[str] = set()
    for did in (doc or {}).get("dids") or []:
        try:
            found.add(_number(str(did), account))
        except FlowhookError:
            continue  # not a number in this account's region: it names no DID
    return found


async def _flow_for(rt: Runtime, account: Account, did: str) -> tuple[FlowRecord, str]:
    records = await rt.store.read(lambda c: flow_repo.list_for(c, account.id))
    for version in ("prod", "test"):
        for record in records:
            if did in _dids(record.document(version), account):
                return record, version
    raise NoFlowForDid(f"no flow of this account lists the DID {did} in its dids")


async def _inbound(
    rt: Runtime, account: Account, cli: str, dnis: str
) -> tuple[FlowRecord, CompiledFlow, ExecutionState]:
    """A new execution of the flow that lists the DID ``dnis``, from ``cli``: the flow's
    record, its compiled version and the execution, created now (not yet accepted)."""
    record, version = await _flow_for(rt, account, dnis)
    flow = rt.catalog.compiled(record, version)
    state = new_execution(
        account, record.flow_id, "inbound", version=version, cli=cli, dnis=dnis, now=rt.now()
    )
    return record, flow, state


async def inbound_call(rt: Runtime, account: Account, form: SimCall) -> dict[str, str]:
    """A call rings the DID: a new execution of its flow, with the ringing leg as its call."""
    cli, dnis = _number(form.cli, account), _number(form.dnis, account)
    record, flow, state = await _inbound(rt, account, cli, dnis)
    now = state.created_at
    channels = rt.services.get(Channels)
    row = await channels.new_leg(
        account, state.uuid, incoming=True, cli=cli, dnis=dnis, script=form.script.model_dump()
    )
    state.variables["call.id"] = row.id
    state.call_legs.append(leg_record(row, now, "VISITOR"))
    await rt.runner.accept([state], flow=flow)
    return {"call_id": row.id, "uuid": state.uuid, "flow_id": record.flow_id}


async def _live(rt: Runtime, account: Account, call_id: str) -> Channels:
    channels = rt.services.get(Channels)
    row = await channels.call(call_id, account.id)
    if row is None:
        raise NotFound(f"no call {call_id}", code=Code.CALL_NOT_FOUND)
    if row.status == ENDED:
        raise Conflict(f"call {call_id} has ended", code=Code.CALL_ENDED)
    return channels


async def press(rt: Runtime, account: Account, call_id: str, form: SimKeys) -> dict[str, Any]:
    """The caller presses keys now (one millisecond apart, in order)."""
    channels = await _live(rt, account, call_id)
    now = rt.now()
    events = [
        {"kind": "dtmf", "key": key, "at": now + i / 1000} for i, key in enumerate(form.digits)
    ]
    await channels.add_events(call_id, events)
    return {"call_id": call_id, "digits": form.digits}


async def hangup(rt: Runtime, account: Account, call_id: str) -> dict[str, Any]:
    """The caller hangs up now."""
    channels = await _live(rt, account, call_id)
    await channels.add_events(call_id, [{"kind": "hangup", "at": rt.now()}])
    return {"call_id": call_id, "hangup": True}


async def inbound_sms(rt: Runtime, account: Account, form: SimSms) -> dict[str, str]:
    """An SMS to the DID ``to``: a new execution of its flow, with ``$call.sms.*`` set."""
    sender, to = _number(form.sender, account), _number(form.to, account)
    record, flow, state = await _inbound(rt, account, sender, to)
    now = state.created_at
    state.variables.update({"call.sms.text": form.text, "call.sms.from": sender, "call.sms.to": to})
    message_id = str(uuid.uuid4())
    state.sms.append(
        {
            "id": message_id,
            "text": form.text,
            "to": to,
            "from": sender,
            "send_time": now,
            "delivery_status": "RECEIVED",
        }
    )
    await rt.runner.accept([state], flow=flow)
    return {"sms_id": message_id, "uuid": state.uuid, "flow_id": record.flow_id}
