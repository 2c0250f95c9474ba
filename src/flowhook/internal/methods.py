"""The four internal webhook methods, as the webhook widget calls them in-process.

Each method reads its parameters from the execution's variables (``$flow.syskey.*``,
``$user.syskey.*``, ``$flow.key.*``), does its work through the services the runtime lent
the context, writes its documented result variables and returns them (names with ``$``).
A failure writes the documented "false"/code variable first, then raises
``InternalMethodError`` whose code becomes the widget's ``error_reason``.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flowhook.domain.numbers import normalise
from flowhook.engine.context import StepContext
from flowhook.errors import Code, FlowhookError, ValidationFailed
from flowhook.internal import outbound, preferences, shortener
from flowhook.internal.dialer import Dialer
from flowhook.store.catalog import Catalog
from flowhook.store.db import Store

INTERNAL_PATH = re.compile(r"/centraloutboundwebhook-v1/(prod|test)/?$")
"""The path of an internal webhook URL; the group is the stage."""

METHOD_NAMES = ("createOutbound", "shortURL", "updateUserPreferences", "updatePauseStatusForCLI")

_IDEMPOTENCY = uuid.UUID("6f3c2a1e-8d0b-4c55-9a61-0e5b7f1d2c34")
_CREATE_OUTBOUND_WRITES = (
    "flow.key.obdResponseCode",
    "flow.key.obdReqID",
    "flow.key.obdPhononUUID",
)


class InternalMethodError(FlowhookError):
    """An internal method failed; ``code`` is the ``error_reason`` the widget reports."""

    code = Code.INTERNAL_METHOD_FAILED


T = TypeVar("T")

Method = Callable[[StepContext, str], Awaitable[dict[str, Any]]]


async def invoke(method: str, ctx: StepContext, stage: str) -> dict[str, Any]:
    """Run one internal method in-process; return the variables it set (``$``-names)."""
    handler = _METHODS.get(method)
    if handler is None:
        raise InternalMethodError(
            f"unknown internal method {method!r} (one of {', '.join(METHOD_NAMES)})",
            code=Code.UNKNOWN_METHOD,
        )
    if stage not in ("prod", "test"):
        raise InternalMethodError(f"unknown stage {stage!r}", code=Code.INVALID_STAGE)
    ctx.log["internal"] = {"method": method, "stage": stage}
    return await handler(ctx, stage)


def _put(ctx: StepContext, values: dict[str, Any]) -> dict[str, Any]:
    for name, value in values.items():
        ctx.set(name, value)
    return values


def _failing(ctx: StepContext, result: str) -> Callable[[str, Code], InternalMethodError]:
    """The failure of a method whose documented result is ``true``/``false``: it writes
    ``false`` to ``result`` first, then returns the error to raise."""

    def fail(message: str, code: Code) -> InternalMethodError:
        _put(ctx, {result: False})
        return InternalMethodError(message, code=code)

    return fail


def _param(
    ctx: StepContext,
    fail: Callable[[str, Code], InternalMethodError],
    name: str,
    parse: Callable[[Any], T | None],
    problem: str = "is required",
) -> T:
    """A required parameter, parsed; ``INVALID_PARAMETERS`` (``fail``) when it is absent or
    does not parse."""
    value = parse(ctx.get(name))
    if value is None:
        raise fail(f"{name} {problem}", Code.INVALID_PARAMETERS)
    return value


def _text(value: Any) -> str | None:
    """A parameter as text (numbers too); None when absent or empty."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text or None


def _flag(value: Any) -> bool | None:
    """``true``/``false`` as a JSON boolean or text (any case), also 1/0 and yes/no."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    return None


def split_numbers(value: Any) -> list[str]:
    """``"9199…, 9198…"`` or ``"9199… 9198…"`` (or a JSON list) → the separate numbers."""
    if isinstance(value, list):
        items = [str(v) for v in value if isinstance(v, str | int) and not isinstance(v, bool)]
        return [n for item in items for n in split_numbers(item)]
    if not isinstance(value, str | int) or isinstance(value, bool):
        return []
    return [part for part in re.split(r"[,;\s]+", str(value)) if part]


# createOutbound -------------------------------------------------------------------------


async def create_outbound(ctx: StepContext, stage: str) -> dict[str, Any]:
    """Start the flow ``$flow.syskey.flowID`` once per number in ``contactNumbers``,
    ``delayMinutes`` from now, with this execution's ``$flow.key.*`` values."""

    def fail(code: outbound.ResponseCode, message: str) -> InternalMethodError:
        _put(ctx, {"$flow.key.obdResponseCode": int(code)})
        return InternalMethodError(message, code=Code[code.name])

    syskey = ctx.state.variables.get
    version = _text(syskey("flow.syskey.apiVersion")) or ("1.0" if stage == "prod" else "TEST")
    delay_raw = syskey("flow.syskey.delayMinutes")
    delay = _minutes(delay_raw)
    if delay is None:
        raise fail(
            outbound.ResponseCode.INVALID_MANDATORY_PARAMETERS,
            f"$flow.syskey.delayMinutes is not a number of minutes: {delay_raw!r}",
        )
    numbers = split_numbers(syskey("flow.syskey.contactNumbers"))
    start_at = ctx.now() + ctx.settings.scaled(delay * 60)
    keys = [
        {"name": f"${name}", "value": value}
        for name, value in ctx.state.variables.items()
        if name.startswith("flow.key.") and name not in _CREATE_OUTBOUND_WRITES
    ]
    passed = [key for key in keys if outbound.is_key_name(key["name"])]
    if len(passed) < len(keys):
        ctx.warn("some $flow.key names are too long to pass to the new executions")
    client = _text(syskey("flow.syskey.clientID"))
    body = {
        "api-version": version,
        "security-id": _text(syskey("flow.syskey.securityID")),
        "flow-id": _text(syskey("flow.syskey.flowID")),
        "calls": [
            {
                "client-identifier": client,
                "start-time": datetime.fromtimestamp(start_at, UTC).isoformat(),
                "contact-numbers": [number],
                "keys": passed,
            }
            for number in numbers
        ],
    }
    request_id = str(
        uuid.uuid5(_IDEMPOTENCY, f"{ctx.state.uuid}:{ctx.widget_id}:{ctx.state.step_count}")
    )
    try:
        envelope = outbound.parse_envelope(body)
        result = await outbound.create(
            ctx.services,
            envelope,
            flow_types=("outbound", "dialer"),
            source="createOutbound",
            caller_account=ctx.account.id,
            request_id=request_id,
        )
    except outbound.Rejected as exc:
        raise fail(exc.response_code, exc.message) from None
    first = next((d["phonon-uuid"] for d in result.call_details if d.get("phonon-uuid")), None)
    return _put(
        ctx,
        {
            "$flow.key.obdResponseCode": int(result.code),
            "$flow.key.obdReqID": result.request_id,
            "$flow.key.obdPhononUUID": first,
        },
    )


def _minutes(value: Any) -> float | None:
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        return None
    try:
        minutes = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(minutes) or minutes < 0 or minutes > 366 * 24 * 60:
        return None
    return minutes


# shortURL -------------------------------------------------------------------------------


async def short_url(ctx: StepContext, stage: str) -> dict[str, Any]:
    """Shorten ``$flow.syskey.longUrl`` into ``$flow.key.shortUrl``."""
    account = await ctx.services.get(Catalog).account(ctx.account.id)
    try:
        record = await shortener.shorten(
            ctx.services.get(Store),
            account,
            ctx.get("$flow.syskey.longUrl"),
            now=ctx.now(),
            code_length=ctx.settings.short_code_length,
        )
    except ValidationFailed as exc:
        raise InternalMethodError(f"$flow.syskey.longUrl: {exc.message}", code=exc.code) from None
    link = shortener.short_url(record.code, account, ctx.settings.base_url)
    return _put(ctx, {"$flow.key.shortUrl": link})


# updateUserPreferences ------------------------------------------------------------------


async def update_user_preferences(ctx: StepContext, stage: str) -> dict[str, Any]:
    """Keep every ``$user.key.*`` of this execution for ``$user.syskey.contactNumber``."""
    result = "$flow.key.user_preferences_update"
    fail = _failing(ctx, result)
    contact = _param(ctx, fail, "$user.syskey.contactNumber", _text)
    account_id = _text(ctx.get("$user.syskey.accountID"))
    if account_id is not None and account_id != ctx.account.id:
        raise fail("$user.syskey.accountID is not this account", Code.ACCOUNT_MISMATCH)
    values = ctx.state.user_variables()
    if not values:
        ctx.warn("no $user.key values to store")
    try:
        await preferences.update(
            ctx.services.get(Store),
            ctx.account.id,
            contact,
            values,
            region=ctx.account.default_region,
            now=ctx.now(),
        )
    except ValidationFailed as exc:
        raise fail(f"$user.syskey.contactNumber: {exc.message}", exc.code) from None
    return _put(ctx, {result: True})


# updatePauseStatusForCLI ----------------------------------------------------------------


async def update_pause_status_for_cli(ctx: StepContext, stage: str) -> dict[str, Any]:
    """Pause (``$flow.key.pause`` true) or unpause the direct-dial agent ``$flow.key.cli``."""
    result = "$flow.key.cli_pause_update"
    fail = _failing(ctx, result)
    pause = _param(ctx, fail, "$flow.key.pause", _flag, "must be true or false")
    cli = _param(ctx, fail, "$flow.key.cli", _text)
    try:
        number = normalise(cli, ctx.account.default_region)
    except ValidationFailed as exc:
        raise fail(f"$flow.key.cli: {exc.message}", exc.code) from None
    agent = await ctx.services.get(Dialer).set_paused(ctx.account.id, number, pause)
    if agent is None:
        raise fail(f"no direct-dial agent with CLI {number}", Code.AGENT_NOT_FOUND)
    return _put(ctx, {result: True})


_METHODS: dict[str, Method] = {
    "createOutbound": create_outbound,
    "shortURL": short_url,
    "updateUserPreferences": update_user_preferences,
    "updatePauseStatusForCLI": update_pause_status_for_cli,
}
