"""The step log's entries: what the interpreter records for each widget it ran.

One entry per widget run, stored with the execution (``ExecutionState.steps``) and read by
the API, the console's execution page, ``flowhook run``'s trace and the flow drawing's
taken path. Typed here so that the writer and its readers agree on the names; the JSON is
the same plain object it always was (a ``TypedDict`` is a ``dict`` at run time).
"""

from __future__ import annotations

from typing import Any, TypedDict


class StepError(TypedDict):
    """Why the widget failed: a code of ``flowhook.errors.Code`` and its message."""

    code: str
    message: str


class WidgetLog(TypedDict, total=False):
    """What a widget adds to its entry (``ctx.log``), each key written by the widgets named."""

    request: dict[str, Any]  # webhook: the request sent
    response: dict[str, Any]  # webhook: the response received
    delivery: str  # webhook (fire and forget): the delivery's id
    internal: dict[str, Any]  # internal methods: {"method", "stage"}
    agent: dict[str, Any]  # agent allot / release
    call: dict[str, Any]  # call widgets: the call ended, or the caller hung up
    attempts: list[str]  # make call: each attempt's outcome
    dialled: list[str]  # make call: each number dialled
    played: list[str]  # play: the prompts played
    digits: str  # collect digits: what the caller pressed
    key: str  # menu: the key pressed
    recording: str  # record: the recording's address
    report: str  # SMS / e-mail report: the final status
    sms: dict[str, Any]  # SMS: the message handed over
    email: dict[str, Any]  # e-mail: the message handed over
    local_time: str  # time condition: the time it decided on


class _Ran(TypedDict):
    widget: str
    type: str
    at: float  # when the widget started (the execution's clock)


class Step(_Ran, WidgetLog, total=False):
    """One entry of the step log: the widget that ran, how long it took, the exit it left
    by (``"wait→<exit>"`` for a durable wait) or the error it failed with, the variables it
    changed and its warnings, then what the widget itself logged (``WidgetLog``)."""

    duration_ms: float
    changed: dict[str, Any]
    warnings: list[str]
    exit: str
    error: StepError
