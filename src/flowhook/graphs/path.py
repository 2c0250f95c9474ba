"""The path an execution took through its flow, read from its step log, for drawing.

A step records the widget that ran and the exit it left by (``"0"``, ``"next"``, a
decision's branch, ``"wait→next"`` for a durable wait, ``"end"``); a step with ``error``
failed the widget. The drawing colours those widgets and the arrows of those exits, and
marks the widget a running or waiting execution is at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

WAIT_PREFIX = "wait→"
"""How the step log names the exit a durable wait leaves by when it ends."""


@dataclass(frozen=True)
class TakenPath:
    """Widgets an execution ran, exits it took (widget id, exit name), widgets that failed,
    and the widget it is at while it runs or waits (None once it has ended)."""

    widgets: frozenset[str] = field(default_factory=frozenset)
    exits: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    failed: frozenset[str] = field(default_factory=frozenset)
    current: str | None = None


def taken_path(steps: Sequence[Mapping[str, Any]], current: str | None = None) -> TakenPath:
    """The path of a step log; ``current`` is the execution's cursor while it is unfinished.

    A wait's exit counts as taken once the wait is over: not while the execution is still
    waiting at that widget (its last step).
    """
    widgets: set[str] = set()
    exits: set[tuple[str, str]] = set()
    failed: set[str] = set()
    last = len(steps) - 1
    for index, step in enumerate(steps):
        widget = step.get("widget")
        if not isinstance(widget, str):
            continue
        widgets.add(widget)
        if step.get("error"):
            failed.add(widget)
        exit_name = step.get("exit")
        if not isinstance(exit_name, str):
            continue
        if exit_name.startswith(WAIT_PREFIX):
            if index == last and current == widget:
                continue  # still waiting
            exit_name = exit_name.removeprefix(WAIT_PREFIX)
        exits.add((widget, exit_name))
    return TakenPath(frozenset(widgets), frozenset(exits), frozenset(failed), current)
