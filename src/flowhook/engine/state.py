"""The state of one execution: everything a checkpoint must keep to resume after a crash.

Plain data, serialised to JSON in the ``executions`` table. Variables live in one flat map
keyed by the reference name without ``$`` (``flow.key.x``, ``user.key.lang``,
``call.cli.number``), so templating, the step log and the flow-complete payload all read
the same thing.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from flowhook import text
from flowhook.engine.steps import Step

MAX_DEPTH = 64
"""How deeply lists and objects may nest in a flow document or a variable given by a caller:
JSON encoders and templating recurse, and a value nested thousands deep would overflow them."""
MAX_VALUES = 500_000
"""How many values a document may hold: more than a 256 KB JSON body can, fewer than a few
YAML aliases expand to (a "billion laughs" document)."""


TOO_DEEP_SHOWN = f"(nested deeper than {MAX_DEPTH} levels: not shown)"


def within_depth(value: Any, depth: int = 0) -> Any:
    """``value`` as it can be shown: what nests deeper than :data:`MAX_DEPTH` (kept before
    values were bounded where they enter the state) becomes :data:`TOO_DEEP_SHOWN`, so
    every stored execution stays readable. Recurses at most ``MAX_DEPTH`` levels."""
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            return TOO_DEEP_SHOWN
        return {k: within_depth(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            return TOO_DEEP_SHOWN
        return [within_depth(v, depth + 1) for v in value]
    return value


def json_problem(value: Any, path: str = "$") -> tuple[str, str] | None:
    """The first reason a value from outside cannot be kept and served as JSON, as (path,
    message): nested deeper than ``MAX_DEPTH``, more than ``MAX_VALUES`` values, NaN / an
    infinity (Python's parser reads them, but they are not JSON), or text that cannot be
    stored (:mod:`flowhook.text`: a NUL, a lone surrogate). None when it can.
    Iterative, so any depth is safe."""
    todo: list[tuple[Any, str, int]] = [(value, path, 0)]
    seen = 0
    while todo:
        node, where, depth = todo.pop()
        seen += 1
        if seen > MAX_VALUES:
            return path, f"more than {MAX_VALUES} values"
        if isinstance(node, float) and not math.isfinite(node):
            return where, f"{node} is not a JSON number"
        if isinstance(node, str):
            reason = text.problem(node)
            if reason is not None:
                return where, reason
        if isinstance(node, dict | list):
            for key in node if isinstance(node, dict) else ():
                reason = text.problem(key) if isinstance(key, str) else None
                if reason is not None:  # before the key goes into a path
                    return where, f"a key {reason}"
            if depth == MAX_DEPTH:
                return where, f"lists and objects nest more than {MAX_DEPTH} levels deep"
            items = node.items() if isinstance(node, dict) else enumerate(node)
            todo.extend(
                (child, f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}", depth + 1)
                for key, child in items
            )
    return None


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
    HANGUP = "hangup"  # the on_remote_hangup entry (the caller hung up mid-flow)


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
    steps: list[Step] = field(default_factory=list)
    step_count: int = 0
    call_legs: list[dict[str, Any]] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    recordings: list[dict[str, Any]] = field(default_factory=list)
    # what a widget that waits on a channel keeps between its runs (when it began to
    # listen, its retries), by widget id; dropped when the widget leaves
    scratch: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    started_at: float | None = None
    ended_at: float | None = None
    error_reason: str | None = None
    error_message: str | None = None
    contact: str | None = None  # the customer number $user.key values belong to

    def to_json(self) -> dict[str, Any]:
        # A shallow dict, not ``dataclasses.asdict``: asdict deep-copies every variable and
        # step on each checkpoint only for the store to encode it as JSON right after. The
        # instance's ``__dict__`` holds the fields in their order (``__init__`` sets them
        # all, nothing else is set): copying it costs a quarter of reading 27 fields by name.
        data = self.__dict__
        if len(data) == len(_FIELDS):
            return dict(data)
        return {f.name: getattr(self, f.name) for f in _FIELDS}

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


_FIELDS = dataclasses.fields(ExecutionState)
