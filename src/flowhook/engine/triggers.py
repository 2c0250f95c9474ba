"""Turning a trigger (API call, outbound request, createOutbound, CLI run) into new
execution states: ids, initial variables and the call facts."""

from __future__ import annotations

import re
from typing import Any

from flowhook.domain.account import Account
from flowhook.domain.numbers import normalise
from flowhook.engine.state import MAX_DEPTH, ExecutionState, json_problem
from flowhook.errors import Code, ValidationFailed
from flowhook.ids import random_id

INPUT_VARIABLE = re.compile(r"^\$?(flow|user)\.(key|syskey)\.[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$")


def input_variables(variables: dict[str, Any]) -> dict[str, Any]:
    """Check names given by a caller (``$flow.key.x`` …) and strip the ``$``."""
    out: dict[str, Any] = {}
    bad = [name for name in variables if not INPUT_VARIABLE.match(name)]
    if bad:
        raise ValidationFailed(
            "variables must be named $flow.key.*, $flow.syskey.*, $user.key.* or $user.syskey.*",
            code=Code.INVALID_VARIABLE_NAME,
            details=[{"path": f"$.variables.{name}", "message": "invalid name"} for name in bad],
        )
    not_json = [json_problem(value, f"$.variables.{name}") for name, value in variables.items()]
    if any(not_json):
        raise ValidationFailed(
            f"variable values must be JSON, nested at most {MAX_DEPTH} levels deep",
            code=Code.INVALID_VARIABLE_VALUE,
            details=[
                {"path": path, "message": message} for path, message in filter(None, not_json)
            ],
        )
    for name, value in variables.items():
        out[name.removeprefix("$")] = value
    return out


def new_execution(
    account: Account,
    flow_id: str,
    flow_type: str,
    *,
    version: str = "prod",
    variables: dict[str, Any] | None = None,
    cli: str | None = None,
    dnis: str | None = None,
    request_id: str | None = None,
    now: float,
) -> ExecutionState:
    """A PENDING execution from what a caller sent: variable names and values checked,
    numbers normalised with the account's region (``pending_execution``)."""
    values = input_variables(variables or {})
    return pending_execution(
        account.id,
        flow_id,
        flow_type,
        version=version,
        variables=values,
        cli=normalise(cli, account.default_region) if cli else None,
        dnis=normalise(dnis, account.default_region) if dnis else None,
        request_id=request_id,
        now=now,
    )


def pending_execution(
    account_id: str,
    flow_id: str,
    flow_type: str,
    *,
    version: str,
    variables: dict[str, Any],
    cli: str | None,
    dnis: str | None,
    request_id: str | None,
    now: float,
) -> ExecutionState:
    """A PENDING execution from checked variables (names without ``$``, owned by the new
    state) and normalised numbers; the contact whose ``$user.key`` values apply is the
    customer: the called number on outbound and dialer flows, the caller on inbound ones."""
    if cli:
        variables["call.cli.number"] = cli
    if dnis:
        variables["call.dnis.number"] = dnis
    return ExecutionState(
        uuid=random_id(),
        account_id=account_id,
        flow_id=flow_id,
        version=version,
        request_id=request_id or random_id(),
        variables=variables,
        created_at=now,
        contact=cli if flow_type == "inbound" else dnis,
    )
