"""DOT → inline SVG with the real Graphviz ``dot``; the answer where ``dot`` is missing,
slow or failing; and that any text a user can put in a flow draws as well-formed SVG
showing that text as written."""

from __future__ import annotations

import asyncio
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowhook.graphs import Drawing, GraphRenderer, flow_dot, taken_path
from flowhook.graphs.dot import MAX_EXIT_LABEL, MAX_LABEL, visible
from flowhook.graphs.render import NOT_INSTALLED
from graphs.flows import PAYMENT_REMINDER

SVG = "{http://www.w3.org/2000/svg}"
SAFE_ELEMENTS = {"svg", "g", "title", "polygon", "polyline", "path", "ellipse", "text"}
"""What Graphviz draws a flow with: no script, no foreignObject, no link."""


def parse(drawing: Drawing) -> ET.Element:
    assert drawing.problem is None and drawing.svg is not None
    return ET.fromstring(drawing.svg)


def group(root: ET.Element, element_id: str) -> ET.Element:
    found = [g for g in root.iter(f"{SVG}g") if g.get("id") == element_id]
    assert len(found) == 1, element_id
    return found[0]


def texts(element: ET.Element) -> list[str]:
    return [t.text or "" for t in element.iter(f"{SVG}text")]


def as_shown(text: str) -> str:
    """Graphviz keeps a run of spaces visible by writing all but the first as U+00A0."""
    return text.replace("\xa0", " ")


async def test_dot_draws_the_flow_as_inline_svg_with_widget_ids(dot_command: str) -> None:
    drawing = await GraphRenderer().svg(flow_dot(PAYMENT_REMINDER))
    assert drawing.svg is not None
    assert drawing.svg.startswith("<svg") and drawing.svg.endswith("</svg>")
    assert "<?xml" not in drawing.svg and "DOCTYPE" not in drawing.svg and "<!--" not in drawing.svg
    root = parse(drawing)
    greet = group(root, "widget-greet")
    assert "widget" in (greet.get("class") or "").split()
    assert texts(greet) == ["store_variable", "greet"]
    assert texts(group(root, "entry-start")) == ["start"]
    assert texts(group(root, "entry-on_flow_complete")) == ["on flow complete"]
    edge_labels = sorted(
        t for g in root.iter(f"{SVG}g") if g.get("class") == "edge" for t in texts(g)
    )
    assert edge_labels == ["0", "1", "default", "next", "next", "vip"]


async def test_the_path_taken_is_coloured_in_the_svg(dot_command: str) -> None:
    path = taken_path(
        [{"widget": "greet", "exit": "next"}, {"widget": "score", "exit": "1"}],
        current="done",
    )
    root = parse(await GraphRenderer().svg(flow_dot(PAYMENT_REMINDER, path)))
    classes = {g.get("id"): (g.get("class") or "").split() for g in root.iter(f"{SVG}g")}
    assert "visited" in classes["widget-greet"] and "visited" in classes["widget-score"]
    assert "current" in classes["widget-done"]
    assert "visited" not in classes["widget-route"]
    taken = [g for g in root.iter(f"{SVG}g") if "taken" in (g.get("class") or "").split()]
    assert sorted(texts(g)[0] if texts(g) else "entry" for g in taken) == ["1", "entry", "next"]


async def test_a_drawing_is_cached_by_its_text(
    dot_command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    renderer = GraphRenderer()
    dot = flow_dot(PAYMENT_REMINDER)
    first = await renderer.svg(dot)
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot any more: only the cache can answer
    assert await renderer.svg(dot) == first
    other = await renderer.svg(flow_dot(PAYMENT_REMINDER, taken_path([{"widget": "greet"}])))
    assert other == Drawing(None, NOT_INSTALLED)


async def test_without_dot_the_answer_says_to_install_graphviz(
    dot_command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    renderer = GraphRenderer()
    dot = flow_dot(PAYMENT_REMINDER)
    with monkeypatch.context() as patched:
        patched.setenv("PATH", str(tmp_path))
        drawing = await renderer.svg(dot)
    assert drawing == Drawing(None, NOT_INSTALLED)
    assert "install graphviz" in NOT_INSTALLED
    # not cached: once Graphviz is there, the same flow draws
    assert (await renderer.svg(dot)).svg is not None


async def test_a_graph_over_the_size_limit_is_not_drawn() -> None:
    drawing = await GraphRenderer(max_bytes=100).svg(flow_dot(PAYMENT_REMINDER))
    assert drawing.svg is None
    assert drawing.problem is not None and "too large to draw" in drawing.problem


async def test_dot_that_fails_gives_a_problem_not_an_exception(dot_command: str) -> None:
    drawing = await GraphRenderer().svg("digraph { this is not DOT")
    assert drawing == Drawing(None, "graph unavailable: graphviz could not draw this flow")


async def test_a_dot_that_hangs_is_killed_at_the_timeout(tmp_path: Path) -> None:
    """A stand-in for a ``dot`` stuck on a huge graph: it writes its pid, then sleeps."""
    pid_file = tmp_path / "pid"
    slow = tmp_path / "slow-dot"
    slow.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 600\n")
    slow.chmod(0o755)
    drawing = await GraphRenderer(str(slow), timeout=0.5).svg(flow_dot(PAYMENT_REMINDER))
    assert drawing.svg is None
    assert drawing.problem == "graph unavailable: drawing took longer than 0.5 seconds"
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left running
        os.kill(int(pid_file.read_text()), 0)


# Any text: quotes, backslashes, line breaks, HTML and entities, control characters, lone
# surrogates and non-characters (refused by validation, yet drawn safely if ever stored).
_awkward = st.sampled_from(
    [
        '"',
        "\\",
        "\\N",
        "\\G",
        "&",
        "&lt;",
        "&#60;",
        "<",
        ">",
        "<script>",
        "\n",
        "\r",
        "\t",
        "\x00",
        "\x1b",
        "\x7f",
        "\ud800",
        "\ufffe",
        "\uffff",
        "é",
        "✓",
        "😀",
        "\u2028",
        " ",
    ]
)
TEXT = st.lists(st.one_of(st.characters(), _awkward), max_size=30).map("".join)
WIDGET_ID = st.from_regex(r"[A-Za-z0-9_\-]{1,12}", fullmatch=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    widgets=st.dictionaries(
        WIDGET_ID,
        st.tuples(TEXT, TEXT, st.dictionaries(TEXT, st.integers(0, 3), max_size=3)),
        min_size=1,
        max_size=4,
    )
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_any_text_in_a_flow_draws_valid_svg_showing_it_as_written(
    dot_command: str, widgets: dict[str, tuple[str, str, dict[str, int]]]
) -> None:
    ids = list(widgets)
    document = {
        "name": "any",
        "entry": {"start": ids[0]},
        "widgets": {
            widget_id: {
                "type": widget_type,
                "label": label,
                "exits": {name: ids[target % len(ids)] for name, target in exits.items()},
            }
            for widget_id, (widget_type, label, exits) in widgets.items()
        },
    }
    drawing = asyncio.run(GraphRenderer().svg(flow_dot(document)))
    root = parse(drawing)  # well-formed XML: a browser can parse the inlined SVG
    assert {element.tag.removeprefix(SVG) for element in root.iter()} <= SAFE_ELEMENTS
    for widget_id, (widget_type, label, _exits) in widgets.items():
        lines = [visible(widget_type, MAX_LABEL), widget_id]
        if label and label != widget_id:
            lines.append(visible(label, MAX_LABEL))
        shown = "\n".join(lines).split("\n")
        shown_svg = [as_shown(t) for t in texts(group(root, f"widget-{widget_id}"))]
        assert shown_svg == [as_shown(line) for line in shown if line]
    edge_texts = sorted(
        as_shown(t) for g in root.iter(f"{SVG}g") if g.get("class") == "edge" for t in texts(g)
    )
    exit_lines = sorted(
        as_shown(line)
        for _t, _l, exits in widgets.values()
        for name in exits
        for line in visible(name, MAX_EXIT_LABEL).split("\n")
        if line
    )
    assert edge_texts == exit_lines
