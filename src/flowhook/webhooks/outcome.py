"""The webhook widget's ``$flow.key.response_*`` variables (spec §5.4.4) from an
``HttpResult``: pure, so the widget, the check button and the docs agree on one table."""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Mapping
from typing import Any

from flowhook.domain.message import ErrorReason, HttpResult

PREFIX = "flow.key."
RESULTS = (
    "response_status",
    "response_status_code",
    "response_status_type",
    "response_duration",
    "response_raw",
    "response_error",
    "error_reason",
)
"""What every run of a webhook widget writes as ``$flow.key.<name>``: the *last* call's
results, shared by all the flow's webhook widgets (the next widget branches on them)."""
LAST_CALL = frozenset(PREFIX + name for name in RESULTS)
_PER_WIDGET = tuple(name for name in RESULTS if name != "response_raw")
_STATUS_TYPES = {
    1: "INFORMATIONAL",
    2: "SUCCESSFUL",
    3: "REDIRECTION",
    4: "CLIENT_ERROR",
    5: "SERVER_ERROR",
}
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def response_variables(
    result: HttpResult, raw_max_chars: int, *, error_reason: ErrorReason | None = None
) -> dict[str, Any]:
    """Variable name (without ``$``) → value. ``error_reason`` marks a failure found after
    the exchange (e.g. ``MAPPING_FAILED`` on a 200), which overrides the result's own."""
    reason = error_reason or result.error_reason
    success = reason is None and result.ok
    if not success and reason is None:
        reason = ErrorReason.INVALID_RESPONSE  # not ok, yet no reason given: still a failure
    return {
        PREFIX + "response_status": "SUCCESS" if success else "FAILED",
        PREFIX + "response_status_code": result.status,
        PREFIX + "response_status_type": status_type(result.status),
        PREFIX + "response_duration": round(result.duration_s, 3),
        PREFIX + "response_raw": raw_text(result, raw_max_chars),
        PREFIX + "response_error": not success,
        PREFIX + "error_reason": None if reason is None else reason.value,
    }


def widget_results(widget_id: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    """The results again under the widget's own names, ``flow.key.<widget id>.<name>``:
    a later call (another widget, the ``on_flow_complete`` path) cannot erase them, and
    they are what the flow-complete ``keys`` carry. The raw body is left out (it can be
    large, and it stays in the step log): map what a receiver needs into a variable."""
    return {
        own: variables[shared]
        for shared, own in widget_result_names(widget_id)
        if shared in variables
    }


@functools.lru_cache(maxsize=4096)
def widget_result_names(widget_id: str) -> tuple[tuple[str, str], ...]:
    """(shared name, the widget's own name) of each result :func:`widget_results` copies;
    made once per widget id, not on every call."""
    return tuple((PREFIX + name, f"{PREFIX}{widget_id}.{name}") for name in _PER_WIDGET)


def status_type(status: int | None) -> str | None:
    """``INFORMATIONAL`` … ``SERVER_ERROR`` for a status code; None without a response."""
    if status is None:
        return None
    return _STATUS_TYPES.get(status // 100)


def raw_text(result: HttpResult, max_chars: int) -> str | None:
    """The body as text (charset from Content-Type, UTF-8 otherwise), at most
    ``max_chars`` characters; None when empty."""
    if not result.body or max_chars <= 0:
        return None
    # A character is at most 4 bytes in the encodings met here: decode no more than needed.
    text = result.body[: max_chars * 4].decode(_charset(result.headers), errors="replace")
    return text[:max_chars] or None


def _charset(headers: dict[str, str]) -> str:
    content_type = headers.get("Content-Type")  # as aiohttp spells it: no scan needed
    if content_type is None:
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return _charset_of(content_type)


@functools.lru_cache(maxsize=1024)
def _charset_of(content_type: str) -> str:
    match = _CHARSET.search(content_type)
    if match:
        name = match.group(1)
        try:
            return codecs.lookup(name).name
        except LookupError:
            pass
    return "utf-8"
