"""The outbound (OBD) API's request body, checked as the original checks it: pure functions
from the body to an ``Envelope`` (the request's fields) and from each raw call to a
``Call`` or an ``InvalidCall``, refusing with the original's body codes (``Rejected``).
No I/O here: ``outbound.create`` does the rest.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from flowhook.domain.numbers import normalise
from flowhook.engine.triggers import INPUT_VARIABLE
from flowhook.errors import Code, FlowhookError, ValidationFailed

MAX_CALLS = 500
MAX_ALTERNATES = 10
MAX_CLIENT_IDENTIFIER = 100
VERSIONS = {"1.0": "prod", "TEST": "test"}


class ResponseCode(IntEnum):
    """The ``api-response-code`` values of the original API (the ones flowhook can give)."""

    SUCCESS = 200
    CHECKSUM_REPEATED = 201
    INVALID_SECURITY_ID = 202
    INVALID_API_VERSION = 203
    INVALID_CONTACT_NUMBER = 205
    PARTIAL_SUCCESS = 209
    INVALID_MANDATORY_PARAMETERS = 210
    INVALID_FLOW_ID = 301
    EMPTY_CALL_LIST = 302
    MAX_DATA_LIST_SIZE_EXCEEDED = 303
    INVALID_FLOW_VERSION = 304
    INVALID_FORMAT = 400
    IP_NOT_WHITELISTED = 401
    FAILURE = 500

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    ResponseCode.SUCCESS: "Success",
    ResponseCode.CHECKSUM_REPEATED: "Checksum Repeated",
    ResponseCode.INVALID_SECURITY_ID: "Invalid Security ID",
    ResponseCode.INVALID_API_VERSION: "API Version not Supported",
    ResponseCode.INVALID_CONTACT_NUMBER: "Invalid Contact Number",
    ResponseCode.PARTIAL_SUCCESS: "Partial Success",
    ResponseCode.INVALID_MANDATORY_PARAMETERS: "Invalid Mandatory Parameters",
    ResponseCode.INVALID_FLOW_ID: "Invalid Flow ID",
    ResponseCode.EMPTY_CALL_LIST: "Empty Call List",
    ResponseCode.MAX_DATA_LIST_SIZE_EXCEEDED: "Max Data List Size Exceeded",
    ResponseCode.INVALID_FLOW_VERSION: "Invalid Flow Version",
    ResponseCode.INVALID_FORMAT: "Invalid Format",
    ResponseCode.IP_NOT_WHITELISTED: "IP Not Whitelisted",
    ResponseCode.FAILURE: "Failure",
}


class Rejected(FlowhookError):
    """The whole request is refused; ``response_code`` is the body code to answer."""

    def __init__(
        self,
        response_code: ResponseCode,
        detail: str = "",
        call_details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail or response_code.message, code=Code[response_code.name])
        self.response_code = response_code
        self.call_details = call_details

    def body(self) -> dict[str, Any]:
        return {
            "api-response-code": int(self.response_code),
            "api-response-message": self.response_code.message,
            "request-id": None,
            "call-details": self.call_details,
            "detail": self.message,
        }


@dataclass(frozen=True)
class Envelope:
    """A request whose envelope is valid; its calls are still raw JSON."""

    version: str  # "prod" | "test"
    security_id: str
    flow_id: str
    calls: list[Any]


@dataclass(frozen=True)
class Call:
    index: int
    client_identifier: str | None
    numbers: list[str]  # normalised, in the order to try them
    start_at: float | None  # None: now
    variables: dict[str, Any]  # "flow.key.x" → value


@dataclass(frozen=True)
class InvalidCall:
    index: int
    client_identifier: str | None
    code: ResponseCode
    reason: str


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _encodable(value: Any) -> bool:
    """True when every string in the value is valid Unicode (no lone surrogates)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, list):
        return all(_encodable(v) for v in value)
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    return True


def parse_body(raw: bytes) -> Envelope:
    """Read the request body as the original does; raise ``Rejected`` with its body code."""
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError):
        raise Rejected(ResponseCode.INVALID_FORMAT, "the body is not valid JSON") from None
    if not _encodable(data):
        raise Rejected(ResponseCode.INVALID_FORMAT, "the body contains invalid Unicode")
    return parse_envelope(data)


def parse_envelope(data: Any) -> Envelope:
    if not isinstance(data, dict):
        raise Rejected(ResponseCode.INVALID_FORMAT, "the body must be a JSON object")
    version = data.get("api-version")
    if version is None or version == "":
        raise Rejected(ResponseCode.INVALID_MANDATORY_PARAMETERS, "api-version is required")
    if isinstance(version, bool) or not isinstance(version, str | int | float):
        raise Rejected(ResponseCode.INVALID_API_VERSION, "api-version must be '1.0' or 'TEST'")
    resolved = VERSIONS.get(str(version).strip().upper())
    if resolved is None:
        raise Rejected(ResponseCode.INVALID_API_VERSION, "api-version must be '1.0' or 'TEST'")
    security_id = data.get("security-id")
    flow_id = data.get("flow-id")
    for name, value in (("security-id", security_id), ("flow-id", flow_id)):
        if not isinstance(value, str) or not value.strip():
            raise Rejected(ResponseCode.INVALID_MANDATORY_PARAMETERS, f"{name} is required")
    assert isinstance(security_id, str) and isinstance(flow_id, str)
    calls = data.get("calls")
    if calls is None:
        raise Rejected(ResponseCode.INVALID_MANDATORY_PARAMETERS, "calls is required")
    if not isinstance(calls, list):
        raise Rejected(ResponseCode.INVALID_FORMAT, "calls must be a list")
    if not calls:
        raise Rejected(ResponseCode.EMPTY_CALL_LIST)
    if len(calls) > MAX_CALLS:
        raise Rejected(
            ResponseCode.MAX_DATA_LIST_SIZE_EXCEEDED, f"at most {MAX_CALLS} calls per request"
        )
    return Envelope(resolved, security_id.strip(), flow_id.strip(), calls)


def _client_identifier(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return None
    value = raw.get("client-identifier")
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def check_call(raw: Any, index: int, region: str, now: float) -> Call | InvalidCall:
    """Validate one call object against the account's default region and the clock."""
    client = _client_identifier(raw)

    def invalid(code: ResponseCode, reason: str) -> InvalidCall:
        return InvalidCall(index, client, code, reason)

    if not isinstance(raw, dict):
        return invalid(ResponseCode.INVALID_FORMAT, "a call must be a JSON object")
    given = raw.get("client-identifier")
    if given is not None and client is None:
        return invalid(ResponseCode.INVALID_FORMAT, "client-identifier must be text")
    if client is not None and len(client) > MAX_CLIENT_IDENTIFIER:
        return invalid(
            ResponseCode.INVALID_MANDATORY_PARAMETERS,
            f"client-identifier is longer than {MAX_CLIENT_IDENTIFIER} characters",
        )

    numbers_raw = raw.get("contact-numbers")
    if not isinstance(numbers_raw, list) or not numbers_raw:
        return invalid(ResponseCode.INVALID_MANDATORY_PARAMETERS, "contact-numbers is required")
    if len(numbers_raw) > MAX_ALTERNATES:
        return invalid(
            ResponseCode.INVALID_MANDATORY_PARAMETERS,
            f"at most {MAX_ALTERNATES} contact numbers per call",
        )
    numbers: list[str] = []
    for number in numbers_raw:
        if isinstance(number, bool) or not isinstance(number, str | int):
            continue
        try:
            normalised = normalise(str(number), region)
        except ValidationFailed:
            continue
        if normalised not in numbers:
            numbers.append(normalised)
    if not numbers:
        return invalid(ResponseCode.INVALID_CONTACT_NUMBER, "no valid contact number")

    start_at: float | None = None
    start_raw = raw.get("start-time")
    if start_raw is not None and start_raw != "":
        if not isinstance(start_raw, str):
            return invalid(ResponseCode.INVALID_FORMAT, "start-time must be ISO-8601 text")
        try:
            start = datetime.fromisoformat(start_raw.strip())
        except ValueError:
            return invalid(ResponseCode.INVALID_FORMAT, "start-time is not ISO-8601")
        if start.tzinfo is None or start.utcoffset() is None:
            return invalid(
                ResponseCode.INVALID_FORMAT, "start-time needs a UTC offset (e.g. +05:30)"
            )
        try:
            at = start.timestamp()
            today = datetime.fromtimestamp(now, start.tzinfo).date()
        except (OverflowError, ValueError, OSError):
            return invalid(ResponseCode.INVALID_FORMAT, "start-time is out of range")
        if start.date() < today:
            return invalid(ResponseCode.INVALID_MANDATORY_PARAMETERS, "start-time is in a past day")
        start_at = at if at > now else None  # earlier today: start now

    variables: dict[str, Any] = {}
    keys = raw.get("keys")
    if keys is not None:
        if not isinstance(keys, list):
            return invalid(ResponseCode.INVALID_FORMAT, "keys must be a list")
        for key in keys:
            name = key.get("name") if isinstance(key, dict) else None
            if not isinstance(name, str) or not is_key_name(name):
                return invalid(
                    ResponseCode.INVALID_MANDATORY_PARAMETERS,
                    "each key needs a name like $flow.key.<name> or $user.key.<name>",
                )
            assert isinstance(key, dict)
            variables[name.removeprefix("$")] = key.get("value")
    return Call(index, client, numbers, start_at, variables)


def is_key_name(name: str) -> bool:
    """``$flow.key.x`` or ``$user.key.x`` — callers may not set system keys."""
    match = INPUT_VARIABLE.match(name)
    return bool(match) and match is not None and match.group(2) == "key"
