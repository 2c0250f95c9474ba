"""A flow document as a Graphviz DOT graph: widgets as boxes (type, id, label), exits as
labelled arrows, entry points as ovals with an arrow to the widget they start.

Pure text in, text out, so the drawing is tested without Graphviz (golden files) and the
renderer (:mod:`flowhook.graphs.render`) only runs ``dot`` on it. The document is read as
stored (the dict the API shows), leniently: the graph of a flow stored under older rules
must still draw, so a field of the wrong shape is skipped, never raised on.

Each widget's node has ``id="widget-<widget id>"``, which ``dot -Tsvg`` puts on the node's
``<g>`` element: the console finds the nodes of the inlined SVG by it. Every text a user
wrote (a label, an exit name, a widget type) goes through :func:`quote`, which makes any
string a DOT string that ``dot`` shows as written and turns into well-formed SVG.

Widgets are written in a fixed order — breadth first from the entries, exits by name, then
the widgets no entry reaches by id — not in the document's key order, which a PostgreSQL
``JSON`` column keeps but other stores need not: the same flow gives the same text, hence
the same cached drawing, on every store.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowhook.graphs.path import TakenPath

MAX_LABEL = 60
"""Characters of a widget's label shown in its box (more makes unreadable boxes)."""
MAX_EXIT_LABEL = 30
NODE_ID_PREFIX = "widget-"
_WIDGET_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
"""Ids that go into an ``id`` attribute as they are (a stored flow's ids always do)."""

ENTRIES = (
    ("start", "start"),
    ("on_remote_hangup", "on remote hangup"),
    ("on_flow_complete", "on flow complete"),
)
"""The entry points of a flow (``entry`` fields) and how the drawing names them."""

_FONT = "Helvetica,Arial,sans-serif"
_INK = "#334155"
_TAKEN = "#047857"
_TAKEN_FILL = "#d1fae5"
_FAILED = "#b91c1c"
_FAILED_FILL = "#fee2e2"
_CURRENT = "#1d4ed8"
_CURRENT_FILL = "#dbeafe"


def visible(text: str, limit: int) -> str:
    """``text`` as a box can show it: at most ``limit`` characters (an ellipsis marks the
    cut), line breaks as ``\\n``, and characters XML cannot hold (control characters, lone
    surrogates, U+FFFE/U+FFFF) replaced by U+FFFD — Graphviz copies them into the SVG,
    which a browser would then refuse to parse."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "".join(
        "\ufffd"
        if ch != "\n" and (unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff")
        else ch
        for ch in text
    )


def quote(text: str) -> str:
    """A DOT double-quoted string that Graphviz shows as ``text``.

    Inside quotes DOT only escapes ``"``, but Graphviz then reads backslash sequences
    (``\\n``, ``\\N`` = the node's name, ``\\G`` …) and HTML entities (``&lt;``) in labels:
    backslashes are doubled and ``&`` written ``&amp;`` so neither is interpreted; a line
    break becomes ``\\n``. Call :func:`visible` first for text from users.
    """
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;").replace("\n", "\\n")
    )
    return f'"{escaped}"'


@dataclass(frozen=True)
class _Edge:
    exit: str
    """The exit's name; ``next`` for the widget's ``next`` field."""
    target: str
    from_next_field: bool


@dataclass(frozen=True)
class _Widget:
    id: str
    type: str
    label: str | None
    edges: tuple[_Edge, ...]

    def takes(self, edge: _Edge, exits: frozenset[tuple[str, str]]) -> bool:
        """Whether a taken exit ran along ``edge``: an exit named in ``exits`` goes there;
        ``next`` and the success exit ``0`` fall back to the ``next`` field (as
        ``CompiledFlow.target`` routes them)."""
        if not edge.from_next_field:
            return (self.id, edge.exit) in exits
        named = {e.exit for e in self.edges if not e.from_next_field}
        return any((self.id, name) in exits and name not in named for name in ("next", "0"))


def _read_widgets(document: Mapping[str, Any]) -> dict[str, _Widget]:
    bodies = document.get("widgets")
    if not isinstance(bodies, Mapping):
        return {}
    widgets: dict[str, _Widget] = {}
    for widget_id, body in bodies.items():
        if not isinstance(widget_id, str) or not isinstance(body, Mapping):
            continue
        edges: list[_Edge] = []
        next_id = body.get("next")
        if isinstance(next_id, str):
            edges.append(_Edge("next", next_id, True))
        exits = body.get("exits")
        if isinstance(exits, Mapping):
            edges.extend(
                _Edge(name, target, False)
                for name, target in sorted(exits.items(), key=lambda item: str(item[0]))
                if isinstance(name, str) and isinstance(target, str)
            )
        widget_type = body.get("type")
        label = body.get("label")
        widgets[widget_id] = _Widget(
            widget_id,
            widget_type if isinstance(widget_type, str) else "?",
            label if isinstance(label, str) and label else None,
            tuple(edges),
        )
    return widgets


def _entries(document: Mapping[str, Any], widgets: Mapping[str, _Widget]) -> list[tuple[str, str]]:
    """(entry field, widget id) of the entries that name a widget of the flow."""
    entry = document.get("entry")
    if not isinstance(entry, Mapping):
        return []
    return [
        (name, entry[name])
        for name, _ in ENTRIES
        if isinstance(entry.get(name), str) and entry[name] in widgets
    ]


def _order(widgets: Mapping[str, _Widget], starts: list[str]) -> tuple[list[str], set[str]]:
    """Widget ids breadth first from each entry in turn (the main path, then the
    sub-graphs), then the unreachable ones by id; and the set of reachable ids."""
    order: list[str] = []
    seen: set[str] = set()
    for start in starts:
        todo = [start]
        while todo:
            current = todo.pop(0)
            if current in seen or current not in widgets:
                continue
            seen.add(current)
            order.append(current)
            todo.extend(edge.target for edge in widgets[current].edges)
    reachable = set(seen)
    order.extend(sorted(w for w in widgets if w not in seen))
    return order, reachable


def _attributes(pairs: list[tuple[str, str]]) -> str:
    """``[a=b, …]``; values are written as given (already quoted where needed)."""
    return "[" + ", ".join(f"{k}={v}" for k, v in pairs) + "]"


def _node(widget: _Widget, reachable: bool, path: TakenPath | None) -> str:
    lines = [visible(widget.type, MAX_LABEL), visible(widget.id, MAX_LABEL)]
    if widget.label is not None and widget.label != widget.id:
        lines.append(visible(widget.label, MAX_LABEL))
    classes = ["widget"]
    attributes: list[tuple[str, str]] = []
    if _WIDGET_ID.match(widget.id):
        attributes.append(("id", quote(NODE_ID_PREFIX + widget.id)))
    attributes.append(("label", quote("\n".join(lines))))
    if not reachable:
        classes.append("unreachable")
        attributes.append(("style", '"rounded,filled,dashed"'))
    if path is not None:
        if widget.id == path.current:
            classes.append("current")
            colours = (_CURRENT, _CURRENT_FILL)
        elif widget.id in path.failed:
            classes.append("failed")
            colours = (_FAILED, _FAILED_FILL)
        elif widget.id in path.widgets:
            classes.append("visited")
            colours = (_TAKEN, _TAKEN_FILL)
        else:
            colours = None
        if colours is not None:
            attributes += [("color", quote(colours[0])), ("fillcolor", quote(colours[1]))]
            attributes.append(("penwidth", "2"))
    attributes.insert(1, ("class", quote(" ".join(classes))))
    return f"  {quote(widget.id)} {_attributes(attributes)};"


def _edge(source: str, target: str, label: str | None, taken: bool) -> str:
    attributes: list[tuple[str, str]] = []
    if label is not None:
        attributes.append(("label", quote(visible(label, MAX_EXIT_LABEL))))
    if taken:
        attributes += [("class", '"taken"'), ("color", quote(_TAKEN)), ("penwidth", "2.5")]
        attributes.append(("fontcolor", quote(_TAKEN)))
    suffix = f" {_attributes(attributes)}" if attributes else ""
    return f"  {quote(source)} -> {quote(target)}{suffix};"


def flow_dot(document: Mapping[str, Any], path: TakenPath | None = None) -> str:
    """The DOT text of a flow document; with ``path``, the widgets and exits an execution
    took coloured (green; red where a widget failed; blue where it is now)."""
    widgets = _read_widgets(document)
    entries = _entries(document, widgets)
    order, reachable = _order(widgets, [widget for _, widget in entries])
    out = [
        "digraph flow {",
        f'  graph [rankdir=TB, bgcolor="transparent", fontname="{_FONT}", '
        "nodesep=0.35, ranksep=0.45];",
        f'  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="{_INK}", '
        f'fontcolor="#0f172a", fontname="{_FONT}", fontsize=11, margin="0.15,0.06"];',
        f'  edge [color="#64748b", fontcolor="{_INK}", fontname="{_FONT}", fontsize=10, '
        "arrowsize=0.7];",
    ]
    names = dict(ENTRIES)
    for name, widget_id in entries:
        node = f"entry:{name}"
        attributes = [
            ("id", quote(f"entry-{name}")),
            ("class", '"entry"'),
            ("label", quote(names[name])),
            ("shape", "oval"),
            ("style", '"filled"'),
            ("fillcolor", '"#e0e7ff"'),
            ("color", '"#6366f1"'),
            ("fontsize", "10"),
        ]
        out.append(f"  {quote(node)} {_attributes(attributes)};")
        taken = path is not None and widget_id in path.widgets
        out.append(_edge(node, widget_id, None, taken))
    for widget_id in order:
        out.append(_node(widgets[widget_id], widget_id in reachable, path))
    for widget_id in order:
        widget = widgets[widget_id]
        for edge in widget.edges:
            if edge.target not in widgets:
                continue  # a dangling exit (a stored flow is validated: never, but be lenient)
            taken = path is not None and widget.takes(edge, path.exits)
            out.append(_edge(widget_id, edge.target, edge.exit, taken))
    out.append("}")
    return "\n".join(out) + "\n"
