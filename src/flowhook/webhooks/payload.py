"""The flow-complete ("default", "post-call", "DLR push") payload, built from an execution.

A pure function of the final :class:`~flowhook.engine.state.ExecutionState`: the delivery
outbox stores its result and the worker POSTs it as the JSON body, at top level (no
``"body"`` wrapper). Field names are the original product's, misspelling of
``dtmfPressesd`` included, so receivers written for it work unchanged.

Channel widgets record what happened in ``state.call_legs``, ``state.sms``,
``state.emails`` and ``state.recordings`` as plain JSON dicts with snake_case keys; the
TypedDicts below are that contract. Times are epoch seconds (an ISO-8601 string with an
offset is accepted too); this module renders them as ISO-8601 with the account's offset.
A key that is missing or ``None`` means "no data" and its field is left out of the
payload, except the always-present ones listed in ``docs/webhooks.md``.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from flowhook.engine.state import ExecutionState, Phase, Status
from flowhook.errors import Code
from flowhook.webhooks.outcome import LAST_CALL

__all__ = [
    "CallLeg",
    "Dtmf",
    "Email",
    "Recording",
    "Sms",
    "default_payload",
    "sample_state",
]

Timestamp = float | str
"""Epoch seconds, or an ISO-8601 string with an offset."""


class Dtmf(TypedDict, total=False):
    """One key press on a call leg."""

    key: str
    event_time: Timestamp
    label: str


class CallLeg(TypedDict, total=False):
    """One entry of ``state.call_legs``: a leg of a call (customer, agent, …)."""

    cdr_id: str  # → cdrId
    start: Timestamp  # → startTime
    connect: Timestamp  # → connectTime; missing = never connected
    end: Timestamp  # → endTime
    callee: str  # → calleeNumber
    did: str  # → didNumber
    hangup_cause: str | int  # → hangupCause (Q.850 cause, sent as a string)
    dtmf: list[Dtmf]  # → dtmfPressesd
    incoming: bool  # → incoming (False when missing)
    callee_type: str  # → calleeType ("VISITOR", "HARD_PHONE", …)
    remote_hangup: bool  # → remoteHangup


Sms = TypedDict(  # "from" is a keyword, hence the functional form
    "Sms",
    {
        "id": str,
        "text": str,
        "to": str,
        "from": str,
        "send_time": Timestamp,  # → sendTime
        "delivery_status": str,  # → deliveryStatus ("SENT_TO_QUEUE", …)
    },
    total=False,
)
"""One entry of ``state.sms``."""

Email = TypedDict(
    "Email",
    {
        "id": str,
        "subject": str,
        "content": str,
        "from": str,
        "to": str | list[str],
        "delivery_status": str,  # → deliveryStatus ("SENT", "DELIVERED", "BOUNCED", …)
    },
    total=False,
)
"""One entry of ``state.emails``."""


class Recording(TypedDict, total=False):
    """One entry of ``state.recordings``."""

    file_name: str  # → recordedFileName
    url: str  # → recordedFilePublicPath


def default_payload(
    state: ExecutionState, *, test: bool = False, timezone: str = "UTC"
) -> dict[str, Any]:
    """The JSON object POSTed to the account's default webhook when ``state`` ends, and by
    a saved webhook with body type NONE that a webhook widget calls while it runs.

    Sent before the end, ``flowStatus`` is ``RUNNING`` on the main path (there is no
    outcome yet) and the outcome so far on the ``on_flow_complete`` path (the main path is
    over); ``endTime`` is left out until the execution has ended."""
    tz = _zone(timezone)
    failed = state.status is Status.FAILED or state.error_reason is not None
    running = not state.status.finished and state.phase is Phase.MAIN
    payload: dict[str, Any] = {
        "phonon-uuid": state.uuid,
        "request-id": state.request_id,
        "flow-id": state.flow_id,
        "flow-name": state.flow_name,
        "flowStatus": "FAILED" if failed else "RUNNING" if running else "COMPLETED",
    }
    if failed:
        payload["errorReason"] = state.error_reason or Code.INTERNAL_ERROR
    _put(payload, "startTime", _iso(state.started_at, tz))
    _put(payload, "endTime", _iso(state.ended_at, tz))
    # a section is left out when empty (most flows have none: no list is built for them)
    if state.call_legs:
        payload["callDetails"] = [_call_leg(leg, tz) for leg in state.call_legs]
    if state.sms:
        payload["smsDetails"] = [_sms(sms, tz) for sms in state.sms]
    if state.emails:
        payload["emailDetails"] = [_email(email) for email in state.emails]
    if state.recordings:
        payload["recordingUrls"] = [_recording(rec) for rec in state.recordings]
    payload["keys"] = [  # the last call's shared results are each widget's own, named apart
        {"name": f"${name}", "value": value}
        for name, value in state.variables.items()
        if name.startswith("flow.key.") and name not in LAST_CALL
    ]
    if test:
        payload["test"] = True
    return payload


def _call_leg(leg: Mapping[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "cdrId", _str(leg.get("cdr_id")))
    _put(out, "startTime", _iso(leg.get("start"), tz))
    _put(out, "connectTime", _iso(leg.get("connect"), tz))
    _put(out, "endTime", _iso(leg.get("end"), tz))
    _put(out, "calleeNumber", _str(leg.get("callee")))
    _put(out, "didNumber", _str(leg.get("did")))
    _put(out, "hangupCause", _str(leg.get("hangup_cause")))
    out["duration"] = _duration_ms(leg.get("connect"), leg.get("end"))
    out["dtmfPressesd"] = [_dtmf(press, tz) for press in leg.get("dtmf") or []]
    out["incoming"] = bool(leg.get("incoming", False))
    _put(out, "calleeType", _str(leg.get("callee_type")))
    remote = leg.get("remote_hangup")
    if remote is not None:
        out["remoteHangup"] = bool(remote)
    return out


def _dtmf(press: Mapping[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"key": _str(press.get("key")) or ""}
    _put(out, "eventTime", _iso(press.get("event_time"), tz))
    out["label"] = _str(press.get("label")) or ""
    return out


def _sms(sms: Mapping[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source, target in (("id", "id"), ("text", "text"), ("to", "to"), ("from", "from")):
        _put(out, target, _str(sms.get(source)))
    _put(out, "sendTime", _iso(sms.get("send_time"), tz))
    _put(out, "deliveryStatus", _str(sms.get("delivery_status")))
    return out


def _email(email: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("id", "subject", "content", "from"):
        _put(out, name, _str(email.get(name)))
    to = email.get("to")
    if isinstance(to, list):
        out["to"] = [str(address) for address in to]
    else:
        _put(out, "to", _str(to))
    _put(out, "deliveryStatus", _str(email.get("delivery_status")))
    return out


def _recording(recording: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "recordedFileName", _str(recording.get("file_name")))
    _put(out, "recordedFilePublicPath", _str(recording.get("url")))
    return out


def _duration_ms(connect: Any, end: Any) -> str:
    """Milliseconds from connect to end as a string; "0" for a leg that never connected."""
    start_s, end_s = _epoch(connect), _epoch(end)
    if start_s is None or end_s is None or end_s <= start_s:
        return "0"
    return str(round((end_s - start_s) * 1000))


def _epoch(value: Any) -> float | None:
    """Epoch seconds from a number or an ISO-8601 string; None for no (usable) data."""
    if type(value) is float:  # the usual case (the engine's clock), checked first
        return value
    if isinstance(value, bool):  # a bool is an int; never a time
        return None
    if isinstance(value, (int, float)):  # a tuple: ``int | float`` is built at each call
        return float(value)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:  # no offset: we cannot know whose clock; assume UTC
            parsed = parsed.replace(tzinfo=ZoneInfo("UTC"))
        return parsed.timestamp()
    return None


def _iso(value: Any, tz: ZoneInfo) -> str | None:
    seconds = _epoch(value)
    if seconds is None:
        return None
    if not 0.0 <= seconds < _FAST_UNTIL:  # odd values: datetime's own answer (or error)
        return datetime.fromtimestamp(seconds, tz).isoformat(timespec="milliseconds")
    # datetime.fromtimestamp's rounding (to the microsecond, half to even, carried into
    # the second), then isoformat's truncation to the millisecond
    fraction, whole = math.modf(seconds)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        whole += 1.0
        micros -= 1_000_000
    second = int(whole)
    parts = _SECONDS.get((second, tz))
    if parts is None:
        parts = _second_parts(second, tz)
    return f"{parts[0]}.{micros // 1000:03d}{parts[1]}"


_FAST_UNTIL = 1e11
_SECONDS: dict[tuple[int, ZoneInfo], tuple[str, str]] = {}
_SECONDS_KEPT = 256
"""The ISO-8601 text of a whole second in a zone, kept for the next time of that second:
a payload's times are mostly the same few seconds (start and end of flows ending now),
and building a ``datetime`` to print one is most of a payload's cost."""


def _second_parts(second: int, tz: ZoneInfo) -> tuple[str, str]:
    """``(date and time to the second, UTC offset)`` of ``second`` in ``tz``, as
    ``datetime.isoformat`` writes them (the offset is the zone's at that instant)."""
    text = datetime.fromtimestamp(second, tz).isoformat(timespec="seconds")
    parts = (text[:19], text[19:])
    if len(_SECONDS) >= _SECONDS_KEPT:
        _SECONDS.clear()
    _SECONDS[(second, tz)] = parts
    return parts


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _put(target: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        target[name] = value


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    """The account's zone; an unknown name falls back to UTC, as the engine's clock does."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def sample_state(now: float | None = None) -> ExecutionState:
    """A plausible finished execution, for the check button's sample payload.

    One answered outbound call with a key press, an SMS, a recording, a few variables of
    every kind (only ``$flow.key.*`` ones reach ``keys``) and the results of a webhook widget
    ``lookup``, as a real execution's ``keys`` carry them. ``now`` is when it ended.
    """
    end = time.time() if now is None else now
    start = end - 140.0
    connect = start + 13.821
    leg: CallLeg = {
        "cdr_id": "81e35a21-5d0c-4f4e-9a55-3f1c2b7d9e10##pbx-1",
        "start": start,
        "connect": connect,
        "end": end - 1.0,
        "callee": "916262772728",
        "did": "912243692987",
        "hangup_cause": "16",
        "dtmf": [{"key": "1", "event_time": connect + 20.0, "label": "confirm"}],
        "incoming": False,
        "callee_type": "VISITOR",
        "remote_hangup": True,
    }
    sms: Sms = {
        "id": "7aab92c3-1f0e-4b8e-8f57-0d6c5e2a4b11",
        "text": "Thank you, your order 4711 is confirmed.",
        "to": "916262772728",
        "from": "FLOWHK",
        "send_time": end - 0.5,
        "delivery_status": "SENT_TO_QUEUE",
    }
    recording: Recording = {
        "file_name": "sample-recording.wav",
        "url": "https://example.com/recordings/sample-recording.wav",
    }
    return ExecutionState(
        uuid="6629a6f5-8c1d-4e3b-9b7a-2f4e8d1c0a55",
        account_id="sample-account",
        flow_id="SAMPLE01",
        version="1",
        request_id="3f2b9c4e-7d6a-4a1b-8e5f-9c0d1e2f3a4b",
        flow_name="Sample order confirmation",
        status=Status.COMPLETED,
        started=True,
        variables={
            "flow.key.name": "Asha",
            "flow.key.order_id": "4711",
            "flow.key.confirmed": "yes",
            "flow.key.lookup.response_status": "SUCCESS",
            "flow.key.lookup.response_status_code": 200,
            "flow.key.lookup.response_status_type": "SUCCESSFUL",
            "flow.key.lookup.response_duration": 0.112,
            "flow.key.lookup.response_error": False,
            "flow.key.lookup.error_reason": None,
            "user.key.lang": "en",
            "flow.syskey.phonon_uuid": "6629a6f5-8c1d-4e3b-9b7a-2f4e8d1c0a55",
            "call.cli.number": "912243692987",
        },
        call_legs=[dict(leg)],
        sms=[dict(sms)],
        recordings=[dict(recording)],
        created_at=start,
        started_at=start,
        ended_at=end,
    )
