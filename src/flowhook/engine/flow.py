"""The flow document and its validation.

A flow is JSON (or YAML): ``{"name", "type", "webhook_enabled", "entry": {"start",
"on_remote_hangup", "on_flow_complete"}, "widgets": {id: {"type", ...config, "next" |
"exits"}}}``. Validation reports every problem with its JSON path and never lets an
invalid flow be stored; a compiled flow holds the widget instances the interpreter runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flowhook.engine.state import json_problem
from flowhook.engine.widget import Widget, WidgetConfig, widget_class
from flowhook.errors import ValidationFailed

NAME_PATTERN = r"^[A-Za-z0-9_]{1,100}$"
WIDGET_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
END = "end"
"""The exit name that ends the current phase, whatever ``next`` says."""


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str
    on_remote_hangup: str | None = None
    on_flow_complete: str | None = None


class FlowDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    type: Literal["inbound", "outbound", "dialer"] = "outbound"
    description: str | None = None
    webhook_enabled: bool = False
    entry: Entry
    widgets: dict[str, dict[str, Any]] = Field(min_length=1)


@dataclass
class Problem:
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass
class CompiledFlow:
    """A validated flow, ready to run."""

    document: FlowDocument
    widgets: dict[str, Widget[Any]]
    warnings: list[Problem] = field(default_factory=list)

    @property
    def entry(self) -> Entry:
        return self.document.entry

    def target(self, widget_id: str, exit_name: str) -> str | None:
        """Where a widget's exit leads; None ends the current phase.

        An exit named in ``exits`` goes there; ``next`` and the success exit ``0`` fall
        back to ``next``; any other unconnected exit (a failure line, a decision's
        default) ends the phase, as an unconnected line does in a flow designer.
        """
        if exit_name == END:
            return None
        config: WidgetConfig = self.widgets[widget_id].config
        if exit_name in config.exits:
            return config.exits[exit_name]
        if exit_name in ("next", "0"):
            return config.next
        return None


def _loc(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def compile_flow(raw: Any) -> CompiledFlow:
    """Validate a flow document; raise ``ValidationFailed`` listing every problem."""
    problems: list[Problem] = []
    not_json = json_problem(raw)
    if not_json is not None:
        problem = Problem(*not_json)
        raise ValidationFailed(
            "the flow is not valid", code="INVALID_FLOW", details=[problem.to_dict()]
        )
    try:
        document = FlowDocument.model_validate(raw)
    except ValidationError as exc:
        problems = [Problem(_loc("$", tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        raise ValidationFailed(
            "the flow is not valid", code="INVALID_FLOW", details=[p.to_dict() for p in problems]
        ) from None

    widgets: dict[str, Widget[Any]] = {}

    for widget_id, body in document.widgets.items():
        path = f"$.widgets.{widget_id}"
        if not re.match(WIDGET_ID_PATTERN, widget_id):
            problems.append(Problem(path, "widget ids use letters, digits, '_' and '-'"))
            continue
        type_name = body.get("type")
        if not isinstance(type_name, str):
            problems.append(Problem(f"{path}.type", "field required"))
            continue
        cls = widget_class(type_name)
        if cls is None:
            problems.append(Problem(f"{path}.type", f"unknown widget type {type_name!r}"))
            continue
        try:
            config = cls.Config.model_validate(body)
        except ValidationError as exc:
            problems.extend(Problem(_loc(path, tuple(e["loc"])), e["msg"]) for e in exc.errors())
            continue
        allowed = cls.exit_names(config) | {"next", "0"}
        for exit_name in config.exits:
            if exit_name not in allowed:
                problems.append(
                    Problem(
                        f"{path}.exits.{exit_name}",
                        f"{type_name} has no exit {exit_name!r} (exits: {sorted(allowed)})",
                    )
                )
        widgets[widget_id] = cls(widget_id, config)

    def check_target(path: str, target: str | None) -> None:
        if target is not None and target not in document.widgets:
            problems.append(Problem(path, f"no widget {target!r} in this flow"))

    check_target("$.entry.start", document.entry.start)
    check_target("$.entry.on_remote_hangup", document.entry.on_remote_hangup)
    check_target("$.entry.on_flow_complete", document.entry.on_flow_complete)
    for widget_id, widget in widgets.items():
        check_target(f"$.widgets.{widget_id}.next", widget.config.next)
        for exit_name, target in widget.config.exits.items():
            check_target(f"$.widgets.{widget_id}.exits.{exit_name}", target)

    if problems:
        raise ValidationFailed(
            "the flow is not valid", code="INVALID_FLOW", details=[p.to_dict() for p in problems]
        )

    flow = CompiledFlow(document, widgets)
    reachable = _reachable(flow)
    flow.warnings = [
        Problem(f"$.widgets.{w}", "widget is not reachable from any entry")
        for w in widgets
        if w not in reachable
    ]
    return flow


def _reachable(flow: CompiledFlow) -> set[str]:
    entry = flow.entry
    todo = [w for w in (entry.start, entry.on_remote_hangup, entry.on_flow_complete) if w]
    seen: set[str] = set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        config = flow.widgets[current].config
        todo.extend(t for t in [config.next, *config.exits.values()] if t)
    return seen
