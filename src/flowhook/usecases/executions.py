"""Executions: start one (the trigger), read one with its step log, list them a page at a
time.

:func:`start` is the API's hot path (``POST /v1/flows/{flow_id}/executions``, served by
the bare ASGI endpoint of ``api/trigger.py`` and documented by its FastAPI declaration;
both call it): it reads the flow from the runtime's catalog (a cache, no store read once
warm), builds the execution and hands it to the runner, which stores it (durable once this
returns) and starts it. Keep it free of extra awaits and allocations.

The form keeps the name the API's OpenAPI document has always published it under
(``Trigger``): a schema's name there is its class's name.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flowhook.domain.account import Account
from flowhook.domain.numbers import normalise
from flowhook.engine.state import ExecutionState, Status
from flowhook.engine.triggers import new_execution
from flowhook.errors import Code, NotFound
from flowhook.runtime import Runtime
from flowhook.store import executions as execution_repo
from flowhook.usecases.pages import Moment, Page, epoch, page_of, parse_cursor

ID_PATTERN = r"^[A-Za-z0-9\-]{1,64}$"
"""What flow ids and request ids look like (filters outside it are mistakes, not queries)."""


class Trigger(BaseModel):
    # no docstring: it would become the schema's description in the OpenAPI document
    model_config = ConfigDict(extra="forbid")

    version: Literal["prod", "test"] = "prod"
    cli: str | None = Field(None, max_length=32)
    dnis: str | None = Field(None, max_length=32)
    variables: dict[str, Any] = Field(default_factory=dict, max_length=1000)


class ExecutionFilter(BaseModel):
    """Which executions to list (newest first), and where the page starts."""

    uuid: str | None = Field(None, pattern=ID_PATTERN, description="this execution only")
    flow_id: str | None = Field(None, pattern=ID_PATTERN)
    status: Status | None = None
    request_id: str | None = Field(None, pattern=ID_PATTERN)
    contact: str | None = Field(
        None,
        max_length=32,
        description="the customer's number, in any form the trigger accepts "
        "(read with the account's default region)",
    )
    since: Moment | None = Field(
        None, description="created at or after (ISO 8601 or epoch seconds; UTC if no zone)"
    )
    until: Moment | None = Field(None, description="created before")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = None


async def start(rt: Runtime, account: Account, flow_id: str, body: Trigger) -> dict[str, str]:
    """The account's flow in the asked version, a new execution, stored (durable once this
    returns) and started: its ``uuid`` and ``request_id``."""
    return await start_with(rt, account, flow_id, body.version, body.variables, body.cli, body.dnis)


async def start_with(
    rt: Runtime,
    account: Account,
    flow_id: str,
    version: str,
    variables: dict[str, Any],
    cli: str | None,
    dnis: str | None,
) -> dict[str, str]:
    """:func:`start` from a :class:`Trigger`'s fields, valid as that model checks them (the
    trigger's endpoint checks a plain body without building the model)."""
    record = await rt.catalog.flow_record(flow_id, version)
    if record.account_id != account.id:
        raise NotFound.flow(flow_id)
    flow = rt.catalog.compiled(record, version)
    state = new_execution(
        account,
        flow_id,
        flow.document.type,
        version=version,
        variables=variables,
        cli=cli,
        dnis=dnis,
        now=rt.services.clock(),
    )
    await rt.runner.accept([state], flow=flow, account=account)
    return {"uuid": state.uuid, "request_id": state.request_id}


async def get(rt: Runtime, account: Account, uuid: str) -> ExecutionState:
    """One of the account's executions, with its step log."""
    state = await rt.execution(uuid, account.id)
    if state is None:
        raise NotFound(f"no execution {uuid}", code=Code.EXECUTION_NOT_FOUND)
    return state


async def list_page(rt: Runtime, account: Account, filters: ExecutionFilter) -> Page[Any]:
    """One page of the account's executions (summaries: no steps, no variables)."""
    after = parse_cursor(filters.cursor)
    status = filters.status.value if filters.status else None
    contact = normalise(filters.contact, account.default_region) if filters.contact else None
    rows = await rt.store.read(
        lambda c: execution_repo.list_for(
            c,
            account.id,
            uuid=filters.uuid,
            flow_id=filters.flow_id,
            status=status,
            request_id=filters.request_id,
            contact=contact,
            since=epoch(filters.since),
            until=epoch(filters.until),
            limit=filters.limit + 1,
            after=after,
        )
    )
    return page_of(rows, filters.limit, lambda r: (r.created_at, r.uuid))
