"""A circuit breaker per endpoint (``host:port``): stop sending to a receiver that is down.

Without it, a receiver that refuses connections turns its pending deliveries into a hot
loop: each is claimed, fails within a millisecond and commits an attempt, so the claim
loop and the single writer spend their time on failures that tell us nothing new, and new
executions wait. After ``failures`` consecutive retryable failures (``retry.classify`` says
"retry": no connection, timeout, 5xx, 408/425/429) the endpoint's circuit **opens**: the
delivery engine sends nothing to it for a cool-down and pushes its pending deliveries past
the cool-down in one statement (``store.deliveries.postpone``).

::

    CLOSED --`failures` in a row--> OPEN --cool-down over--> HALF_OPEN (one probe out)
    HALF_OPEN --probe succeeds--> CLOSED      HALF_OPEN --probe fails--> OPEN (longer)

Each opening in a row doubles the cool-down, up to ``max_cooldown_s``; a success resets it.
Any success closes the circuit (the receiver answered), whatever the state. A probe that
never reports (its task was cancelled) is replaced after ``probe_timeout_s``.

The state lives in this process only: another worker learns that an endpoint is down from
its own failures, and meanwhile skips the postponed rows because their ``due_at`` moved.
Pure: the caller passes the clock, so tests drive it with a fake one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flowhook.settings import Settings

__all__ = ["Admission", "Breaker", "State"]


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Admission(StrEnum):
    """What the engine may do with a delivery to an endpoint right now."""

    SEND = "send"
    """The circuit is closed."""
    PROBE = "probe"
    """The one trial attempt after the cool-down: its outcome closes or re-opens."""
    HOLD = "hold"
    """The circuit is open (or its probe is out): hand the delivery back unsent."""


@dataclass
class _Circuit:
    state: State = State.CLOSED
    failures: int = 0
    """Consecutive retryable failures while closed."""
    openings: int = 0
    """Consecutive openings without a success in between: sets the cool-down."""
    reopen_at: float = 0.0
    """While OPEN: when a probe may go (the end of the cool-down)."""
    probe_since: float = 0.0


class Breaker:
    """The circuits of one process, keyed by endpoint; an endpoint never seen is closed."""

    def __init__(
        self,
        *,
        failures: int,
        cooldown_s: float,
        max_cooldown_s: float,
        probe_timeout_s: float,
    ) -> None:
        self.failures = failures
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max(max_cooldown_s, cooldown_s)
        self.probe_timeout_s = probe_timeout_s
        self._circuits: dict[str, _Circuit] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Breaker:
        """Cool-downs as really waited (``time_scale`` applies, like every other delay)."""
        return cls(
            failures=settings.breaker_failures,
            cooldown_s=settings.scaled(settings.breaker_cooldown_s),
            max_cooldown_s=settings.scaled(settings.breaker_max_cooldown_s),
            # a probe is one request: allow it the longest timeout a request may have
            probe_timeout_s=settings.webhook_max_timeout_s + 5.0,
        )

    def state(self, endpoint: str) -> State:
        circuit = self._circuits.get(endpoint)
        return circuit.state if circuit else State.CLOSED

    def open_count(self) -> int:
        """Endpoints whose circuit is not closed (open or probing)."""
        return sum(1 for c in self._circuits.values() if c.state is not State.CLOSED)

    def held_until(self, endpoint: str, now: float) -> float | None:
        """The end of the endpoint's cool-down while it lasts, else None."""
        circuit = self._circuits.get(endpoint)
        if circuit and circuit.state is State.OPEN and now < circuit.reopen_at:
            return circuit.reopen_at
        return None

    def limits(self, now: float) -> dict[str, int]:
        """How many deliveries each endpoint with a circuit not closed may take now:
        1 when a probe may go, else 0. Endpoints not listed are closed (no limit)."""
        out: dict[str, int] = {}
        for endpoint, circuit in self._circuits.items():
            if circuit.state is State.OPEN:
                out[endpoint] = 1 if now >= circuit.reopen_at else 0
            elif circuit.state is State.HALF_OPEN:
                out[endpoint] = 1 if self._probe_lost(circuit, now) else 0
        return out

    def admit(self, endpoint: str, now: float) -> Admission:
        """Ask just before sending; a PROBE answer makes the caller the probe."""
        circuit = self._circuits.get(endpoint)
        if circuit is None or circuit.state is State.CLOSED:
            return Admission.SEND
        if circuit.state is State.OPEN and now < circuit.reopen_at:
            return Admission.HOLD
        if circuit.state is State.HALF_OPEN and not self._probe_lost(circuit, now):
            return Admission.HOLD
        circuit.state = State.HALF_OPEN
        circuit.probe_since = now
        return Admission.PROBE

    def succeeded(self, endpoint: str) -> bool:
        """The receiver answered: close. True when that changed the state."""
        circuit = self._circuits.pop(endpoint, None)
        return circuit is not None and circuit.state is not State.CLOSED

    def failed(self, endpoint: str, now: float) -> float | None:
        """A retryable failure; the end of the cool-down when this failure opened the
        circuit (the caller then postpones the endpoint's deliveries), else None."""
        if self.failures <= 0:
            return None
        circuit = self._circuits.setdefault(endpoint, _Circuit())
        if circuit.state is State.OPEN:
            return None  # a late result of an attempt sent before the circuit opened
        if circuit.state is State.CLOSED:
            circuit.failures += 1
            if circuit.failures < self.failures:
                return None
        return self._open(circuit, now)

    def released(self, endpoint: str) -> None:
        """A probe that learned nothing (not sent, or cancelled): the next caller probes."""
        circuit = self._circuits.get(endpoint)
        if circuit and circuit.state is State.HALF_OPEN:
            circuit.state = State.OPEN  # reopen_at is past: a probe may go at once

    def _open(self, circuit: _Circuit, now: float) -> float:
        circuit.openings += 1
        doublings = min(circuit.openings - 1, 32)  # the cap is reached long before
        cooldown = min(self.cooldown_s * 2**doublings, self.max_cooldown_s)
        circuit.state = State.OPEN
        circuit.failures = 0
        circuit.reopen_at = now + cooldown
        return circuit.reopen_at

    def _probe_lost(self, circuit: _Circuit, now: float) -> bool:
        return now - circuit.probe_since >= self.probe_timeout_s
