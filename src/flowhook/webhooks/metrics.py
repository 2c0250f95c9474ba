"""Prometheus metrics of the delivery engine (served at ``/metrics``)."""

from __future__ import annotations

import functools
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

DELIVERIES = Counter(
    "flowhook_deliveries_total",
    "Deliveries by final outcome (succeeded, failed = dead letter)",
    ["outcome"],
    registry=REGISTRY,
)
ATTEMPTS = Counter(
    "flowhook_delivery_attempts_total",
    "Delivery attempts by result (success, retry, fail)",
    ["result"],
    registry=REGISTRY,
)
ATTEMPT_LATENCY = Histogram(
    "flowhook_delivery_attempt_seconds",
    "Latency of one delivery attempt",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
PENDING = Gauge(
    "flowhook_deliveries_pending",
    "Deliveries waiting to be sent (as last counted by this process)",
    registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    "flowhook_deliveries_in_flight", "Deliveries being sent by this process", registry=REGISTRY
)
ENDPOINTS_OPEN = Gauge(
    "flowhook_endpoints_open",
    "Endpoints whose circuit is open or probing in this process: nothing is sent to them",
    registry=REGISTRY,
)
POSTPONED = Counter(
    "flowhook_deliveries_postponed_total",
    "Deliveries held back, without an attempt, because their endpoint's circuit opened",
    registry=REGISTRY,
)


# A labelled child is looked up under a lock on each ``labels()`` call; the hot path (every
# delivery attempt) takes it from these caches instead.
@functools.cache
def attempts(outcome: str) -> Any:
    return ATTEMPTS.labels(outcome)


@functools.cache
def deliveries(status: str) -> Any:
    return DELIVERIES.labels(status)
