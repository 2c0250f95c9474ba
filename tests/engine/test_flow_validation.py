"""Flow validation: every problem is reported with its JSON path, in one go; an unreachable
widget is only a warning."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from flowhook.engine.flow import compile_flow
from flowhook.errors import ValidationFailed

VALID: dict[str, Any] = {
    "name": "valid_flow",
    "type": "outbound",
    "entry": {"start": "a", "on_flow_complete": "done"},
    "widgets": {
        "a": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.x", "value": "1"}],
            "next": "b",
        },
        "b": {"type": "end"},
        "done": {"type": "end"},
    },
}


def problems(doc: Any) -> list[dict[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        compile_flow(doc)
    assert caught.value.code == "INVALID_FLOW"
    details: list[dict[str, str]] = caught.value.details
    return details


def paths(doc: Any) -> list[str]:
    return [p["path"] for p in problems(doc)]


def edited(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(VALID)
    doc.update(changes)
    return doc


def test_a_valid_flow_compiles_without_warnings() -> None:
    flow = compile_flow(VALID)
    assert set(flow.widgets) == {"a", "b", "done"}
    assert flow.warnings == []
    assert flow.entry.start == "a"


def test_an_unknown_widget_type_is_reported_at_its_type() -> None:
    doc = edited()
    doc["widgets"]["b"] = {"type": "teleport"}
    [problem] = problems(doc)
    assert problem["path"] == "$.widgets.b.type"
    assert "teleport" in problem["message"]


def test_a_widget_without_type_is_reported() -> None:
    doc = edited()
    doc["widgets"]["b"] = {"next": "a"}
    assert paths(doc) == ["$.widgets.b.type"]


def test_a_missing_field_of_a_widget_is_reported_with_its_path() -> None:
    doc = edited()
    del doc["widgets"]["a"]["assignments"]
    assert paths(doc) == ["$.widgets.a.assignments"]


def test_a_nested_field_error_points_into_the_list() -> None:
    doc = edited()
    doc["widgets"]["a"]["assignments"][0]["variable"] = "$call.cli.number"
    assert paths(doc) == ["$.widgets.a.assignments[0].variable"]


def test_an_unknown_field_of_a_widget_is_reported() -> None:
    doc = edited()
    doc["widgets"]["b"]["colour"] = "red"
    assert paths(doc) == ["$.widgets.b.colour"]


def test_a_dangling_next_is_reported() -> None:
    doc = edited()
    doc["widgets"]["a"]["next"] = "nowhere"
    [problem] = problems(doc)
    assert problem["path"] == "$.widgets.a.next"
    assert "nowhere" in problem["message"]


def test_a_dangling_exit_is_reported() -> None:
    doc = edited()
    doc["widgets"]["c"] = {
        "type": "counter",
        "limit": 2,
        "exits": {"under": "a", "over": "ghost"},
    }
    doc["widgets"]["b"]["next"] = "c"
    assert paths(doc) == ["$.widgets.c.exits.over"]


def test_an_exit_the_widget_does_not_have_is_reported() -> None:
    doc = edited()
    doc["widgets"]["a"]["exits"] = {"sideways": "b"}
    assert paths(doc) == ["$.widgets.a.exits.sideways"]


@pytest.mark.parametrize("entry", ["start", "on_flow_complete", "on_remote_hangup"])
def test_an_entry_to_no_widget_is_reported(entry: str) -> None:
    doc = edited()
    doc["entry"][entry] = "missing"
    assert paths(doc) == [f"$.entry.{entry}"]


def test_a_missing_start_entry_is_reported() -> None:
    doc = edited(entry={})
    assert paths(doc) == ["$.entry.start"]


@pytest.mark.parametrize("name", ["", "has space", "dash-ed", "x" * 101, 42])
def test_a_bad_name_is_reported(name: Any) -> None:
    assert paths(edited(name=name)) == ["$.name"]


def test_missing_name_and_widgets_are_reported_together() -> None:
    assert sorted(paths({"entry": {"start": "a"}})) == ["$.name", "$.widgets"]


def test_a_bad_flow_type_is_reported() -> None:
    assert paths(edited(type="sideways")) == ["$.type"]


def test_a_bad_widget_id_is_reported() -> None:
    doc = edited()
    doc["widgets"]["bad id!"] = {"type": "end"}
    assert paths(doc) == ["$.widgets.bad id!"]


def test_every_problem_is_reported_at_once() -> None:
    doc = edited()
    doc["widgets"]["a"]["next"] = "nowhere"
    doc["widgets"]["b"] = {"type": "teleport"}
    doc["widgets"]["done"]["colour"] = "red"
    doc["entry"]["on_remote_hangup"] = "missing"
    assert sorted(paths(doc)) == [
        "$.entry.on_remote_hangup",
        "$.widgets.a.next",
        "$.widgets.b.type",
        "$.widgets.done.colour",
    ]


def test_a_bad_name_a_bad_widget_and_a_dangling_exit_are_reported_together() -> None:
    doc = edited(name="bad name!")
    doc["widgets"]["a"]["assignments"] = "not a list"
    doc["widgets"]["a"]["next"] = "ghost"
    doc["widgets"]["b"] = {"type": "counter", "limit": 1, "exits": {"over": "nowhere"}}
    found = {p["path"]: p for p in problems(doc)}
    assert sorted(found) == [
        "$.name",
        "$.widgets.a.assignments",
        "$.widgets.a.next",
        "$.widgets.b.exits.over",
    ]
    assert found["$.name"]["code"] == "INVALID_VALUE"
    assert found["$.widgets.a.assignments"]["code"] == "INVALID_VALUE"
    assert found["$.widgets.a.next"]["code"] == "UNKNOWN_WIDGET"
    assert found["$.widgets.a.next"]["widget"] == "a"
    assert found["$.widgets.b.exits.over"]["code"] == "UNKNOWN_WIDGET"


def test_a_widget_of_unknown_type_still_has_its_dangling_next_reported() -> None:
    doc = edited()
    doc["widgets"]["b"] = {"type": "teleport", "next": "ghost"}
    assert {(p["path"], p["code"]) for p in problems(doc)} == {
        ("$.widgets.b.type", "UNKNOWN_WIDGET_TYPE"),
        ("$.widgets.b.next", "UNKNOWN_WIDGET"),
    }


def test_a_bad_entry_type_does_not_hide_the_widgets_problems() -> None:
    doc = edited(type="sideways")
    doc["entry"]["on_flow_complete"] = "missing"
    del doc["widgets"]["a"]["assignments"]
    assert {(p["path"], p["code"]) for p in problems(doc)} == {
        ("$.type", "INVALID_VALUE"),
        ("$.entry.on_flow_complete", "UNKNOWN_WIDGET"),
        ("$.widgets.a.assignments", "MISSING_FIELD"),
    }


def test_every_problem_has_a_code() -> None:
    doc = edited(colour="red")
    doc["widgets"]["bad id!"] = {"type": "end"}
    doc["widgets"]["b"] = {"next": "a"}
    doc["widgets"]["a"]["exits"] = {"sideways": "b"}
    assert {(p["path"], p["code"]) for p in problems(doc)} == {
        ("$.colour", "UNKNOWN_FIELD"),
        ("$.widgets.bad id!", "INVALID_WIDGET_ID"),
        ("$.widgets.b.type", "MISSING_FIELD"),
        ("$.widgets.a.exits.sideways", "UNKNOWN_EXIT"),
    }


@pytest.mark.parametrize("raw", [None, [], "flow", 3, {"widgets": []}])
def test_a_document_that_is_not_a_flow_is_rejected(raw: Any) -> None:
    assert problems(raw)


def test_an_unreachable_widget_is_a_warning_not_an_error() -> None:
    doc = edited()
    doc["widgets"]["island"] = {"type": "end"}
    flow = compile_flow(doc)
    assert [w.to_dict() for w in flow.warnings] == [
        {
            "path": "$.widgets.island",
            "code": "UNREACHABLE_WIDGET",
            "message": "widget is not reachable from any entry",
            "widget": "island",
        }
    ]


def test_widgets_reached_by_exits_and_entries_are_reachable() -> None:
    doc = edited()
    doc["widgets"]["b"] = {
        "type": "counter",
        "limit": 1,
        "exits": {"under": "b", "over": "c"},
    }
    doc["widgets"]["c"] = {"type": "end"}
    doc["widgets"]["hangup"] = {"type": "end"}
    doc["entry"]["on_remote_hangup"] = "hangup"
    assert compile_flow(doc).warnings == []
