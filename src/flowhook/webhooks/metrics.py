"""Prometheus metrics of the delivery engine (served at ``/metrics``).

The metrics are made on first use, through the module's ``__getattr__``: prometheus_client
imports its HTTP exposition stack (urllib, wsgiref, about 0.05 s of CPU) with it, which a
process that sends no delivery and serves no ``/metrics`` (``flowhook run``) does not need.
Once made they are plain module attributes, so the delivery hot path reads them as before.
"""

from __future__ import annotations

import functools
import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    REGISTRY: CollectorRegistry
    DELIVERIES: Counter
    ATTEMPTS: Counter
    ATTEMPT_LATENCY: Histogram
    PENDING: Gauge
    IN_FLIGHT: Gauge
    ENDPOINTS_OPEN: Gauge
    POSTPONED: Counter
    WEBHOOK_PENDING: Gauge
    WEBHOOK_OLDEST_AGE: Gauge
    WEBHOOKS_DISABLED: Gauge
    JOBS: Gauge
    JOB_ITEMS_LEFT: Gauge

    from flowhook.store.jobs import JobTally

_NAMES = frozenset(
    {
        "REGISTRY",
        "DELIVERIES",
        "ATTEMPTS",
        "ATTEMPT_LATENCY",
        "PENDING",
        "IN_FLIGHT",
        "ENDPOINTS_OPEN",
        "POSTPONED",
        "WEBHOOK_PENDING",
        "WEBHOOK_OLDEST_AGE",
        "WEBHOOKS_DISABLED",
        "JOBS",
        "JOB_ITEMS_LEFT",
    }
)
_lock = threading.Lock()


def _create() -> dict[str, Any]:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    registry = CollectorRegistry(auto_describe=True)
    return {
        "REGISTRY": registry,
        "DELIVERIES": Counter(
            "flowhook_deliveries_total",
            "Deliveries by final outcome (succeeded, failed = dead letter)",
            ["outcome"],
            registry=registry,
        ),
        "ATTEMPTS": Counter(
            "flowhook_delivery_attempts_total",
            "Delivery attempts by result (success, retry, fail)",
            ["result"],
            registry=registry,
        ),
        "ATTEMPT_LATENCY": Histogram(
            "flowhook_delivery_attempt_seconds",
            "Latency of one delivery attempt",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=registry,
        ),
        "PENDING": Gauge(
            "flowhook_deliveries_pending",
            "Deliveries waiting to be sent (as last counted by this process)",
            registry=registry,
        ),
        "IN_FLIGHT": _in_flight(
            Gauge(
                "flowhook_deliveries_in_flight",
                "Deliveries being sent by this process",
                registry=registry,
            )
        ),
        "ENDPOINTS_OPEN": Gauge(
            "flowhook_endpoints_open",
            "Endpoints whose circuit is open or probing in this process: nothing is sent to them",
            registry=registry,
        ),
        "POSTPONED": Counter(
            "flowhook_deliveries_postponed_total",
            "Deliveries held back, without an attempt, because their endpoint's circuit opened",
            registry=registry,
        ),
        "WEBHOOK_PENDING": Gauge(
            "flowhook_webhook_deliveries_pending",
            "Pending deliveries per saved webhook (webhook=custom: widgets' own requests),"
            " parked ones of a disabled webhook included",
            ["webhook"],
            registry=registry,
        ),
        "WEBHOOK_OLDEST_AGE": Gauge(
            "flowhook_webhook_oldest_pending_age_seconds",
            "Age of the oldest pending delivery per saved webhook",
            ["webhook"],
            registry=registry,
        ),
        "WEBHOOKS_DISABLED": Gauge(
            "flowhook_webhooks_disabled",
            "Saved webhooks disabled (failing too long, or 410 Gone) and not enabled again",
            registry=registry,
        ),
        "JOBS": Gauge(
            "flowhook_jobs",
            "Background jobs (recover) by kind and status (RUNNING, DONE)",
            ["kind", "status"],
            registry=registry,
        ),
        "JOB_ITEMS_LEFT": Gauge(
            "flowhook_job_items_remaining",
            "Items (deliveries to re-queue) that running jobs have still to do, by kind",
            ["kind"],
            registry=registry,
        ),
    }


class Sending:
    """How many deliveries one delivery engine is sending now: a plain count, moved on
    that engine's event loop only (no lock per attempt, as ``Gauge.inc`` takes), summed
    over the process's engines when ``/metrics`` is read (``IN_FLIGHT``)."""

    __slots__ = ("__weakref__", "count")

    def __init__(self) -> None:
        self.count = 0


_senders: weakref.WeakSet[Sending] = weakref.WeakSet()


def sending() -> Sending:
    """A new engine's count of deliveries being sent, part of ``IN_FLIGHT`` from now on."""
    counted = Sending()
    with _lock:
        _senders.add(counted)
    return counted


def _in_flight(gauge: Gauge) -> Gauge:
    def total() -> float:
        with _lock:
            return float(sum(counted.count for counted in _senders))

    gauge.set_function(total)
    return gauge


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _lock:  # made once, even if two threads ask first
        if name not in globals():
            globals().update(_create())
    return globals()[name]


# A labelled child is looked up under a lock on each ``labels()`` call; the hot path (every
# delivery attempt) takes it from these caches instead.
@functools.cache
def attempts(outcome: str) -> Any:
    return __getattr__("ATTEMPTS").labels(outcome)


@functools.cache
def deliveries(status: str) -> Any:
    return __getattr__("DELIVERIES").labels(status)


def webhook_gauges(
    pending: list[dict[str, Any]], disabled: int, now: float, jobs: Iterable[JobTally] = ()
) -> None:
    """Set the per-webhook and job gauges from a scrape's reading: a webhook without
    pending deliveries any more is dropped, not left at its last value."""
    counts, ages = __getattr__("WEBHOOK_PENDING"), __getattr__("WEBHOOK_OLDEST_AGE")
    counts.clear()
    ages.clear()
    for row in pending:
        webhook = row["webhook_id"] or "custom"
        counts.labels(webhook).set(row["pending"])
        ages.labels(webhook).set(max(0.0, now - row["oldest"]))
    __getattr__("WEBHOOKS_DISABLED").set(disabled)
    counted, left = __getattr__("JOBS"), __getattr__("JOB_ITEMS_LEFT")
    counted.clear()
    left.clear()
    for tally in jobs:
        counted.labels(tally.kind, tally.status).set(tally.jobs)
        if tally.status == "RUNNING":
            left.labels(tally.kind).inc(tally.remaining)
