"""The flow document and its validation.

A flow is JSON (or YAML): ``{"name", "type", "webhook_enabled", "entry": {"start",
"on_remote_hangup", "on_flow_complete"}, "widgets": {id: {"type", ...config, "next" |
"exits"}}}``. Validation reports every problem with its JSON path and never lets an
invalid flow be stored; a compiled flow holds the widget instances the interpreter runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flowhook.engine.state import json_problem
from flowhook.engine.widget import Widget, WidgetConfig, widget_class
from flowhook.errors import Code, ValidationFailed

NAME_PATTERN = r"^[A-Za-z0-9_]{1,100}$"
WIDGET_ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
DID_PATTERN = r"^\+?[0-9]{3,20}$"
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
    dids: list[Annotated[str, Field(pattern=DID_PATTERN)]] = Field(default_factory=list)
    """The numbers whose inbound calls and SMS start this flow (channels)."""
    entry: Entry
    widgets: dict[str, dict[str, Any]] = Field(min_length=1)


@dataclass
class Problem:
    """One error or warning about a flow document: where (a JSON path), a stable code a
    client can act on, and for a widget's problem the widget's id."""

    path: str
    message: str
    code: Code = Code.INVALID_VALUE
    widget: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {"path": self.path, "code": self.code, "message": self.message}
        if self.widget is not None:
            out["widget"] = self.widget
        return out


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


_PYDANTIC_CODES = {"missing": Code.MISSING_FIELD, "extra_forbidden": Code.UNKNOWN_FIELD}


def _pydantic_problems(
    prefix: str, exc: ValidationError, widget: str | None = None
) -> list[Problem]:
    return [
        Problem(
            _loc(prefix, tuple(e["loc"])),
            e["msg"],
            _PYDANTIC_CODES.get(e["type"], Code.INVALID_VALUE),
            widget,
        )
        for e in exc.errors()
    ]


def _targets(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, target) of a widget body's ``next`` and ``exits``, read from the raw body so
    that a widget whose configuration is invalid still has its dangling exits reported."""
    found: list[tuple[str, Any]] = [("next", body.get("next"))]
    exits = body.get("exits")
    if isinstance(exits, dict):
        found.extend((f"exits.{name}", target) for name, target in exits.items())
    return found


def _invalid(problems: list[Problem]) -> ValidationFailed:
    return ValidationFailed(
        "the flow is not valid", code=Code.INVALID_FLOW, details=[p.to_dict() for p in problems]
    )


def compile_flow(raw: Any) -> CompiledFlow:
    """Validate a flow document; raise ``ValidationFailed`` listing every problem.

    Every layer is checked even when an earlier one failed (a bad name does not hide a bad
    widget, a bad widget does not hide its dangling exit), so an author fixes a document in
    one round trip.
    """
    not_json = json_problem(raw)
    if not_json is not None:
        raise _invalid([Problem(*not_json)])
    problems: list[Problem] = []
    document: FlowDocument | None = None
    try:
        document = FlowDocument.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_pydantic_problems("$", exc))

    raw_widgets = raw.get("widgets") if isinstance(raw, dict) else None
    bodies: dict[str, Any] = raw_widgets if isinstance(raw_widgets, dict) else {}
    widgets: dict[str, Widget[Any]] = {}

    def check_target(path: str, target: Any, widget: str | None = None) -> None:
        if isinstance(target, str) and target not in bodies:
            problems.append(
                Problem(path, f"no widget {target!r} in this flow", Code.UNKNOWN_WIDGET, widget)
            )

    for widget_id, body in bodies.items():
        if not isinstance(body, dict):
            continue  # reported by the document's model
        path = f"$.widgets.{widget_id}"
        compiled = _compile_widget(widget_id, body, problems)
        if compiled is None:  # invalid: its targets are still checked, from the raw body
            for name, target in _targets(body):
                check_target(f"{path}.{name}", target, widget_id)
            continue
        widgets[widget_id] = compiled
        check_target(f"{path}.next", compiled.config.next, widget_id)
        for exit_name, target in compiled.config.exits.items():
            check_target(f"{path}.exits.{exit_name}", target, widget_id)

    raw_entry = raw.get("entry") if isinstance(raw, dict) else None
    if bodies and isinstance(raw_entry, dict):
        for name in ("start", "on_remote_hangup", "on_flow_complete"):
            check_target(f"$.entry.{name}", raw_entry.get(name))

    if problems or document is None:
        raise _invalid(problems)

    flow = CompiledFlow(document, widgets)
    reachable = _reachable(flow)
    flow.warnings = [
        Problem(
            f"$.widgets.{w}", "widget is not reachable from any entry", Code.UNREACHABLE_WIDGET, w
        )
        for w in widgets
        if w not in reachable
    ]
    return flow


def _compile_widget(
    widget_id: str, body: dict[str, Any], problems: list[Problem]
) -> Widget[Any] | None:
    """The widget, or None after adding its problems (id, type, configuration, exits)."""
    path = f"$.widgets.{widget_id}"
    if not re.match(WIDGET_ID_PATTERN, widget_id):
        message = "widget ids use letters, digits, '_' and '-'"
        problems.append(Problem(path, message, Code.INVALID_WIDGET_ID, widget_id))
        return None
    type_name = body.get("type")
    if not isinstance(type_name, str):
        problems.append(Problem(f"{path}.type", "field required", Code.MISSING_FIELD, widget_id))
        return None
    cls = widget_class(type_name)
    if cls is None:
        message = f"unknown widget type {type_name!r}"
        problems.append(Problem(f"{path}.type", message, Code.UNKNOWN_WIDGET_TYPE, widget_id))
        return None
    try:
        config = cls.Config.model_validate(body)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(path, exc, widget_id))
        return None
    allowed = cls.exit_names(config) | {"next", "0"}
    unknown = [name for name in config.exits if name not in allowed]
    for exit_name in unknown:
        message = f"{type_name} has no exit {exit_name!r} (exits: {sorted(allowed)})"
        problems.append(Problem(f"{path}.exits.{exit_name}", message, Code.UNKNOWN_EXIT, widget_id))
    return None if unknown else cls(widget_id, config)


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
