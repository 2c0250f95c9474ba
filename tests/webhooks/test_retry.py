"""The delivery retry policy: what is retried, when, and when we give up."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowhook.domain.message import ErrorReason, HttpResult
from flowhook.settings import Settings
from flowhook.webhooks.retry import JITTER, classify, next_attempt_at, retry_after_seconds

NOW = 1_700_000_000.0
DEFAULT_SCHEDULE = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]


class FixedFactor(random.Random):
    """An rng whose jitter factor is chosen by the test: uniform(a, b) → a + (b - a) * t."""

    def __init__(self, t: float) -> None:
        super().__init__(0)
        self.t = t

    def random(self) -> float:
        return self.t


def make_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]


# classification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, "success"),
        (201, "success"),
        (202, "success"),
        (204, "success"),
        (299, "success"),
        (100, "fail"),
        (301, "fail"),
        (302, "fail"),
        (304, "fail"),
        (307, "fail"),
        (400, "fail"),
        (401, "fail"),
        (403, "fail"),
        (404, "fail"),
        (405, "fail"),
        (409, "fail"),
        (410, "fail"),
        (413, "fail"),
        (422, "fail"),
        (408, "retry"),
        (425, "retry"),
        (429, "retry"),
        (500, "retry"),
        (502, "retry"),
        (503, "retry"),
        (504, "retry"),
        (599, "retry"),
    ],
)
def test_classify_by_status(status: int, expected: str) -> None:
    assert classify(HttpResult(status=status)) == expected


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (ErrorReason.CONNECTION_ERROR, "retry"),
        (ErrorReason.TIMEOUT, "retry"),
        (ErrorReason.INTERNAL_ERROR, "retry"),
        (ErrorReason.INVALID_RESPONSE, "retry"),
        (ErrorReason.INVALID_REQUEST, "fail"),
        (ErrorReason.HTTP_DISABLED, "fail"),
        (ErrorReason.BLOCKED_ADDRESS, "fail"),
        (ErrorReason.INVALID_URL, "fail"),
        (ErrorReason.TEMPLATE_ERROR, "fail"),
    ],
)
def test_classify_without_a_response(reason: ErrorReason, expected: str) -> None:
    assert classify(HttpResult(status=None, error_reason=reason)) == expected


def test_accepted_message_with_too_large_response_is_a_success_not_a_duplicate() -> None:
    result = HttpResult(status=200, error_reason=ErrorReason.RESPONSE_TOO_LARGE, truncated=True)
    assert classify(result) == "success"


def test_too_large_error_response_is_classified_by_its_status() -> None:
    assert classify(HttpResult(status=503, error_reason=ErrorReason.RESPONSE_TOO_LARGE)) == "retry"
    assert classify(HttpResult(status=400, error_reason=ErrorReason.RESPONSE_TOO_LARGE)) == "fail"


def test_timeout_while_reading_an_accepted_response_is_a_success() -> None:
    assert classify(HttpResult(status=204, error_reason=ErrorReason.TIMEOUT)) == "success"


def test_status_derived_reasons_follow_the_status() -> None:
    assert classify(HttpResult(status=500, error_reason=ErrorReason.SERVER_ERROR)) == "retry"
    assert classify(HttpResult(status=404, error_reason=ErrorReason.CLIENT_ERROR)) == "fail"
    assert classify(HttpResult(status=429, error_reason=ErrorReason.CLIENT_ERROR)) == "retry"
    assert classify(HttpResult(status=302, error_reason=ErrorReason.REDIRECTION)) == "fail"


# Retry-After ------------------------------------------------------------------------------


def test_retry_after_delta_seconds() -> None:
    assert retry_after_seconds({"Retry-After": "120"}, NOW) == 120.0


def test_retry_after_header_name_is_case_insensitive_and_value_trimmed() -> None:
    assert retry_after_seconds({"retry-after": " 7 "}, NOW) == 7.0


def test_retry_after_imf_fixdate() -> None:
    when = datetime.fromtimestamp(NOW + 3600, UTC)
    header = format_datetime(when, usegmt=True)  # "Tue, 14 Nov 2023 23:13:20 GMT"
    assert retry_after_seconds({"Retry-After": header}, NOW) == pytest.approx(3600)


@pytest.mark.parametrize(
    "header",
    ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"],
)
def test_retry_after_all_three_http_date_formats(header: str) -> None:
    now = datetime(1994, 11, 6, 8, 49, 7, tzinfo=UTC).timestamp()
    assert retry_after_seconds({"Retry-After": header}, now) == pytest.approx(30)


def test_retry_after_date_in_the_past_is_zero() -> None:
    assert retry_after_seconds({"Retry-After": "Sun, 06 Nov 1994 08:49:37 GMT"}, NOW) == 0.0


@pytest.mark.parametrize(
    "header",
    ["", "soon", "-5", "1e3", "\u0663", "Mon, 99 Foo 2023", "Sun, 06 Nov 99999999999 08:49:37 GMT"],
)
def test_unreadable_retry_after_is_none(header: str) -> None:
    assert retry_after_seconds({"Retry-After": header}, NOW) is None


def test_missing_retry_after_is_none() -> None:
    assert retry_after_seconds({"Content-Type": "application/json"}, NOW) is None


@given(st.text())
def test_retry_after_never_raises(header: str) -> None:
    seconds = retry_after_seconds({"Retry-After": header}, NOW)
    assert seconds is None or seconds >= 0


# schedule ---------------------------------------------------------------------------------


def test_default_schedule_is_eight_attempts_over_about_a_day() -> None:
    schedule = Settings().delivery_schedule_s
    assert schedule == DEFAULT_SCHEDULE
    assert 20 * 3600 < sum(schedule) < 30 * 3600


def test_first_attempt_is_due_at_once() -> None:
    assert next_attempt_at(0, NOW, make_settings(), rng=random.Random(1)) == NOW


@pytest.mark.parametrize(("attempts_made", "delay"), list(enumerate(DEFAULT_SCHEDULE)))
def test_without_jitter_each_attempt_follows_the_schedule(attempts_made: int, delay: int) -> None:
    due = next_attempt_at(attempts_made, NOW, make_settings(), rng=FixedFactor(0.5))
    assert due == pytest.approx(NOW + delay)


def test_jitter_stays_within_twenty_percent() -> None:
    settings = make_settings()
    assert next_attempt_at(2, NOW, settings, rng=FixedFactor(0.0)) == pytest.approx(NOW + 240)
    assert next_attempt_at(2, NOW, settings, rng=FixedFactor(1.0)) == pytest.approx(NOW + 360)


def test_fixed_rng_gives_a_reproducible_schedule() -> None:
    settings = make_settings()
    first = [next_attempt_at(n, NOW, settings, rng=random.Random(42)) for n in range(8)]
    again = [next_attempt_at(n, NOW, settings, rng=random.Random(42)) for n in range(8)]
    assert first == again
    for due, delay in zip(first, DEFAULT_SCHEDULE, strict=True):
        assert due is not None
        assert NOW + delay * (1 - JITTER) <= due <= NOW + delay * (1 + JITTER)


def test_exhausted_schedule_means_dead_letter() -> None:
    settings = make_settings()
    assert next_attempt_at(8, NOW, settings, rng=random.Random(1)) is None
    assert next_attempt_at(9, NOW, settings, retry_after=10, rng=random.Random(1)) is None


def test_negative_attempt_count_is_a_bug() -> None:
    with pytest.raises(ValueError):
        next_attempt_at(-1, NOW, make_settings())


def test_custom_schedule_from_settings() -> None:
    settings = make_settings(delivery_schedule_s=[0, 1])
    assert next_attempt_at(1, NOW, settings, rng=FixedFactor(0.5)) == pytest.approx(NOW + 1)
    assert next_attempt_at(2, NOW, settings, rng=FixedFactor(0.5)) is None


def test_time_scale_compresses_every_delay() -> None:
    settings = make_settings(time_scale=0.001)
    assert next_attempt_at(3, NOW, settings, rng=FixedFactor(0.5)) == pytest.approx(NOW + 1.8)


def test_longer_retry_after_wins_over_the_schedule() -> None:
    due = next_attempt_at(1, NOW, make_settings(), retry_after=120, rng=FixedFactor(0.5))
    assert due == pytest.approx(NOW + 120)


def test_shorter_retry_after_is_ignored() -> None:
    due = next_attempt_at(2, NOW, make_settings(), retry_after=10, rng=FixedFactor(0.5))
    assert due == pytest.approx(NOW + 300)


def test_retry_after_is_capped_by_settings() -> None:
    settings = make_settings(delivery_max_retry_after_s=600)
    due = next_attempt_at(1, NOW, settings, retry_after=86_400, rng=FixedFactor(0.5))
    assert due == pytest.approx(NOW + 600)


def test_retry_after_is_scaled_like_the_schedule() -> None:
    settings = make_settings(time_scale=0.01)
    due = next_attempt_at(1, NOW, settings, retry_after=1000, rng=FixedFactor(0.5))
    assert due == pytest.approx(NOW + 10)


@given(
    attempts_made=st.integers(min_value=0, max_value=20),
    retry_after=st.none() | st.floats(min_value=0, allow_nan=False),
    seed=st.integers(),
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_next_attempt_is_never_in_the_past(
    attempts_made: int, retry_after: float | None, seed: int
) -> None:
    due = next_attempt_at(attempts_made, NOW, make_settings(), retry_after, random.Random(seed))
    if attempts_made >= len(DEFAULT_SCHEDULE):
        assert due is None
    else:
        assert due is not None
        assert NOW <= due <= NOW + 36_000 * (1 + JITTER)
