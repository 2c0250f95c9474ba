"""A flow as DOT text: golden files for a few flows, and the path an execution took.

Regenerate the golden files after an intended change of the drawing with
``FLOWHOOK_REGENERATE_GOLDEN=1 pytest tests/graphs/test_dot.py`` and review their diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from flowhook.engine.flow import compile_flow
from flowhook.graphs import TakenPath, flow_dot, taken_path
from flowhook.graphs.dot import quote, visible
from graphs.flows import AWKWARD_TEXT, LOOP, PAYMENT_REMINDER

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("FLOWHOOK_REGENERATE_GOLDEN") == "1"

# The step log of an execution of LOOP: the call failed twice, the third pause is running.
LOOP_STEPS: list[dict[str, Any]] = [
    {"widget": "call", "type": "webhook", "exit": "1"},
    {"widget": "count", "type": "counter", "exit": "under"},
    {"widget": "pause", "type": "delay", "exit": "wait→next"},
    {"widget": "call", "type": "webhook", "exit": "1"},
    {"widget": "count", "type": "counter", "exit": "under"},
    {"widget": "pause", "type": "delay", "exit": "wait→next"},
]
# PAYMENT_REMINDER run to its end, with the VIP branch taken and a failed report.
PAYMENT_STEPS: list[dict[str, Any]] = [
    {"widget": "greet", "exit": "next"},
    {"widget": "score", "exit": "0"},
    {"widget": "route", "exit": "vip"},
    {"widget": "wait", "exit": "wait→next"},
    {"widget": "done", "exit": "end"},
    {"widget": "report", "error": {"code": "INTERNAL_ERROR", "message": "boom"}},
]

CASES: dict[str, tuple[dict[str, Any], TakenPath | None]] = {
    "payment_reminder": (PAYMENT_REMINDER, None),
    "payment_reminder_path": (PAYMENT_REMINDER, taken_path(PAYMENT_STEPS)),
    "awkward_text": (AWKWARD_TEXT, None),
    "retry_loop_waiting": (LOOP, taken_path(LOOP_STEPS, current="pause")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_flow_dot_matches_its_golden_file(name: str) -> None:
    document, path = CASES[name]
    dot = flow_dot(document, path)
    golden = GOLDEN / f"{name}.dot"
    if REGENERATE:
        golden.write_text(dot, encoding="utf-8")
    assert dot == golden.read_text(encoding="utf-8")


def test_golden_flows_are_valid_flows() -> None:
    """The drawings are of flows a user can store, not of shapes the validator refuses."""
    for document in (PAYMENT_REMINDER, AWKWARD_TEXT, LOOP):
        compile_flow(document)


def test_each_widget_node_carries_its_id_and_each_exit_its_label() -> None:
    dot = flow_dot(PAYMENT_REMINDER)
    for widget_id in PAYMENT_REMINDER["widgets"]:
        assert f'"{widget_id}" [id="widget-{widget_id}"' in dot
    assert '"score" -> "route" [label="0"];' in dot
    assert '"score" -> "done" [label="1"];' in dot
    assert '"route" -> "wait" [label="vip"];' in dot
    assert '"entry:start" -> "greet";' in dot
    assert '"entry:on_flow_complete" -> "report";' in dot
    assert "on_remote_hangup" not in dot  # null: no entry point drawn


def test_the_drawing_does_not_depend_on_the_documents_key_order() -> None:
    """A store may hand the widgets back in another order: same text, same cached SVG."""
    shuffled = dict(PAYMENT_REMINDER)
    shuffled["widgets"] = dict(reversed(list(PAYMENT_REMINDER["widgets"].items())))
    assert flow_dot(shuffled) == flow_dot(PAYMENT_REMINDER)


def test_success_exit_taken_through_the_next_field_colours_the_next_arrow() -> None:
    document = {
        "name": "n",
        "entry": {"start": "call"},
        "widgets": {"call": {"type": "webhook", "next": "done"}, "done": {"type": "end"}},
    }
    dot = flow_dot(document, taken_path([{"widget": "call", "exit": "0"}]))
    assert '"call" -> "done" [label="next", class="taken"' in dot


def test_a_named_exit_0_is_coloured_instead_of_the_next_field() -> None:
    document = {
        "name": "n",
        "entry": {"start": "call"},
        "widgets": {
            "call": {"type": "webhook", "next": "x", "exits": {"0": "y"}},
            "x": {"type": "end"},
            "y": {"type": "end"},
        },
    }
    dot = flow_dot(document, taken_path([{"widget": "call", "exit": "0"}]))
    assert '"call" -> "y" [label="0", class="taken"' in dot
    assert '"call" -> "x" [label="next"];' in dot


def test_a_wait_in_progress_has_not_taken_its_exit_yet() -> None:
    steps = [{"widget": "pause", "exit": "wait→next"}]
    assert taken_path(steps, current="pause").exits == frozenset()
    assert taken_path(steps).exits == {("pause", "next")}


def test_a_stored_flow_of_older_rules_still_draws() -> None:
    """Lenient reading: fields of the wrong shape and dangling exits are left out."""
    document = {
        "entry": {"start": "a", "on_flow_complete": "missing"},
        "widgets": {
            "a": {"type": 3, "next": "nowhere", "exits": ["not", "a", "map"]},
            "b": "not a widget",
        },
    }
    dot = flow_dot(document)
    assert '"a" [id="widget-a", class="widget", label="?\\na"];' in dot
    assert "nowhere" not in dot and "missing" not in dot and '"b"' not in dot


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("\\N is the node name", '"\\\\N is the node name"'),
        ("two\nlines", '"two\\nlines"'),
        ("&lt; is not <", '"&amp;lt; is not <"'),
    ],
)
def test_quote_keeps_graphviz_from_interpreting_text(text: str, quoted: str) -> None:
    assert quote(text) == quoted


def test_visible_cuts_long_text_and_replaces_what_xml_cannot_hold() -> None:
    assert visible("x" * 100, 10) == "x" * 9 + "…"
    assert visible("a\x00b\x1bc\ufffed\r\ne\tf", 50) == "a\ufffdb\ufffdc\ufffdd\ne f"
