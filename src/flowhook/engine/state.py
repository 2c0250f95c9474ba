"""The state of one execution: everything a checkpoint must keep to resume after a crash.

Plain data, serialised to JSON in the ``executions`` table. Variables live in one flat map
keyed by the reference name without ``$`` (``flow.key.x``, ``user.key.lang``,
``call.cli.number``), so templating, the step log and the flow-complete payload all read
the same thing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PENDING = "PENDING"  # accepted, not started (or scheduled for later)
    RUNNING = "RUNNING"
    WAITING = "WAITING"  # durable wait (delay widget, queue)
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def finished(self) -> bool:
        return self in (Status.COMPLETED, Status.FAILED)


class Phase(StrEnum):
    MAIN = "main"
    COMPLETE = "complete"  # the on_flow_complete entry


@dataclass
class ExecutionState:
    uuid: str
    account_id: str
    flow_id: str
    version: str
    request_id: str
    flow_name: str = ""
    status: Status = Status.PENDING
    phase: Phase = Phase.MAIN
    cursor: str | None = None  # widget to run next; None = the phase's entry
    started: bool = False
    resume_exit: str | None = None  # exit to take when a wait ends
    wake_at: float | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    step_count: int = 0
    call_legs: list[dict[str, Any]] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    recordings: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    error_reason: str | None = None
    error_message: str | None = None
    contact: str | None = None  # the customer number $user.key values belong to

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExecutionState:
        known = {f.name for f in dataclasses.fields(cls)}
        state = cls(**{k: v for k, v in data.items() if k in known})
        state.status = Status(state.status)
        state.phase = Phase(state.phase)
        return state

    def flow_variables(self) -> dict[str, Any]:
        """``$flow.key.*`` as ``{"$flow.key.x": value}``, the shape of the payload's keys."""
        return {f"${k}": v for k, v in self.variables.items() if k.startswith("flow.key.")}

    def user_variables(self) -> dict[str, Any]:
        """``$user.key.*`` without the prefix, as stored per contact."""
        return {
            k[len("user.key.") :]: v for k, v in self.variables.items() if k.startswith("user.key.")
        }
