"""The webhook widget's ``$flow.key.response_*`` variables from an HttpResult (spec §5.4.4)."""

from __future__ import annotations

import pytest

from flowhook.domain.message import ErrorReason, HttpResult
from flowhook.webhooks.outcome import response_variables, status_type


def variables(
    result: HttpResult, raw_max_chars: int = 4000, error_reason: ErrorReason | None = None
) -> dict[str, object]:
    out = response_variables(result, raw_max_chars, error_reason=error_reason)
    return {name.removeprefix("flow.key."): value for name, value in out.items()}


def test_a_2xx_response_is_success() -> None:
    result = HttpResult(status=200, body=b'{"ok":true}', duration_s=0.11234)
    assert variables(result) == {
        "response_status": "SUCCESS",
        "response_status_code": 200,
        "response_status_type": "SUCCESSFUL",
        "response_duration": 0.112,
        "response_raw": '{"ok":true}',
        "response_error": False,
        "error_reason": None,
    }


def test_names_are_flow_keys_without_dollar() -> None:
    names = response_variables(HttpResult(status=204), 10)
    assert all(name.startswith("flow.key.") for name in names)
    assert len(names) == 7


def test_a_4xx_response_is_a_failure_with_its_class() -> None:
    result = HttpResult(
        status=401, body=b"denied", duration_s=0.5, error_reason=ErrorReason.CLIENT_ERROR
    )
    got = variables(result)
    assert (got["response_status"], got["response_status_code"]) == ("FAILED", 401)
    assert (got["response_status_type"], got["error_reason"]) == ("CLIENT_ERROR", "CLIENT_ERROR")
    assert (got["response_error"], got["response_raw"]) == (True, "denied")


def test_no_response_at_all_has_no_code_and_no_type() -> None:
    got = variables(HttpResult(status=None, duration_s=1.0004, error_reason=ErrorReason.TIMEOUT))
    assert got == {
        "response_status": "FAILED",
        "response_status_code": None,
        "response_status_type": None,
        "response_duration": 1.0,
        "response_raw": None,
        "response_error": True,
        "error_reason": "TIMEOUT",
    }


def test_a_200_can_still_fail_when_mapping_failed() -> None:
    got = variables(HttpResult(status=200, body=b"x"), error_reason=ErrorReason.MAPPING_FAILED)
    assert (got["response_status"], got["response_status_code"]) == ("FAILED", 200)
    assert (got["response_error"], got["error_reason"]) == (True, "MAPPING_FAILED")


def test_a_truncated_200_is_a_failure() -> None:
    result = HttpResult(
        status=200, body=b"x" * 10, truncated=True, error_reason=ErrorReason.RESPONSE_TOO_LARGE
    )
    got = variables(result)
    assert (got["response_status"], got["error_reason"]) == ("FAILED", "RESPONSE_TOO_LARGE")


def test_the_raw_body_is_capped_in_characters_not_bytes() -> None:
    result = HttpResult(status=200, body="é".encode() * 50)
    assert variables(result, raw_max_chars=10)["response_raw"] == "é" * 10


def test_an_empty_body_is_null() -> None:
    assert variables(HttpResult(status=204))["response_raw"] is None


def test_the_raw_body_is_decoded_with_its_charset() -> None:
    result = HttpResult(
        status=200, headers={"content-type": "text/plain; charset=ISO-8859-1"}, body=b"caf\xe9"
    )
    assert variables(result)["response_raw"] == "café"


def test_undecodable_bytes_do_not_break_the_variables() -> None:
    result = HttpResult(
        status=200, headers={"Content-Type": "text/plain; charset=nope"}, body=b"\xff"
    )
    assert variables(result)["response_raw"] == "\ufffd"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (100, "INFORMATIONAL"),
        (204, "SUCCESSFUL"),
        (302, "REDIRECTION"),
        (404, "CLIENT_ERROR"),
        (599, "SERVER_ERROR"),
        (None, None),
        (700, None),
    ],
)
def test_status_types_follow_the_code_class(status: int | None, kind: str | None) -> None:
    assert status_type(status) == kind
