"""When a delivery is tried again, and whether it is worth trying again at all.

Pure functions the delivery worker calls after each attempt: :func:`classify` reads the
attempt's result, :func:`next_attempt_at` turns the schedule in
``Settings.delivery_schedule_s`` into the time of the next attempt (or ``None``: dead
letter). The caller passes the clock and may pass the random generator, so tests fix both.

Decisions (documented for receivers in ``docs/webhooks.md``):

- A response's status decides whenever there is one: 2xx is success even if reading the
  body then failed (too large, timed out) — the receiver has accepted the message, and a
  retry would only duplicate it.
- Retried: no usable response at all (connection error, timeout, malformed response, our
  own internal error), 5xx, 408, 425, 429. Every other status (1xx, 3xx, other 4xx) fails
  at once: redirects are not followed for deliveries and a rejected request will be
  rejected again.
- Configuration errors (``HTTP_DISABLED``, ``BLOCKED_ADDRESS``, ``EGRESS_DENIED``,
  ``INVALID_URL``, ``INVALID_REQUEST``, ``TEMPLATE_ERROR``) fail at once: they won't fix
  themselves within the schedule. Fix the webhook, then replay the dead delivery.
- Jitter is ±20 % of each scheduled delay, not "full" jitter: spreading a burst of
  retries is all we need, and the schedule stays the one the documentation promises.
- A ``Retry-After`` longer than the (jittered) delay wins, capped at
  ``Settings.delivery_max_retry_after_s``; a shorter one is ignored. It never extends the
  number of attempts.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Literal

from flowhook.domain.message import ErrorReason, HttpResult
from flowhook.settings import Settings

__all__ = ["JITTER", "Verdict", "classify", "next_attempt_at", "retry_after_seconds"]

Verdict = Literal["success", "retry", "fail"]

JITTER = 0.2
"""Each scheduled delay is multiplied by a uniform factor in [1 - JITTER, 1 + JITTER]."""

RETRY_STATUSES = frozenset({408, 425, 429})
"""4xx statuses that mean "not now" rather than "no"."""

FAIL_AT_ONCE = frozenset(
    {
        ErrorReason.HTTP_DISABLED,
        ErrorReason.BLOCKED_ADDRESS,
        ErrorReason.EGRESS_DENIED,
        ErrorReason.INVALID_URL,
        ErrorReason.INVALID_REQUEST,
        ErrorReason.TEMPLATE_ERROR,
    }
)
"""Errors of configuration: no request could be sent, and none will until someone acts."""

_DELTA_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_rng = random.Random()


def classify(result: HttpResult) -> Verdict:
    """What one attempt's result means for the delivery."""
    if result.error_reason in FAIL_AT_ONCE:
        return "fail"
    status = result.status
    if status is None:
        return "retry"
    if 200 <= status < 300:
        return "success"
    if status >= 500 or status in RETRY_STATUSES:
        return "retry"
    return "fail"


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP-date (RFC 9110).

    None when absent or unreadable; an HTTP-date in the past gives 0.
    """
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # asctime format carries no zone; HTTP-dates are always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def next_attempt_at(
    attempts_made: int,
    now: float,
    settings: Settings,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """When attempt ``attempts_made + 1`` is due, or None when the schedule is exhausted.

    ``attempts_made`` is 0 for a new delivery (its first attempt is due after
    ``schedule[0]``, normally at once).
    """
    if attempts_made < 0:
        raise ValueError("attempts_made cannot be negative")
    schedule = settings.delivery_schedule_s
    if attempts_made >= len(schedule):
        return None
    delay = float(schedule[attempts_made])
    delay *= (rng or _rng).uniform(1.0 - JITTER, 1.0 + JITTER)
    if retry_after is not None and not math.isnan(retry_after):
        delay = max(delay, min(retry_after, settings.delivery_max_retry_after_s))
    return now + settings.scaled(max(0.0, delay))
