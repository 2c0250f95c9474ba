"""Templating: ``$namespace.name`` references replaced by values, escaped for where they land."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import unquote, unquote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowhook.engine.templating import (
    ESCAPES,
    MISSING,
    Escape,
    form,
    json_string,
    lookup_in,
    references,
    render,
    render_value,
    text,
    to_text,
    url_component,
    xml,
)

VARIABLES: dict[str, Any] = {
    "flow.key.name": "Asha",
    "flow.syskey.status": "answered",
    "user.key.plan": "gold",
    "user.syskey.language": "hi-IN",
    "call.cli.number": "+919800000001",
    "call.agent.dnis.number": "+918000000002",
    "sys.datetime": "2024-05-01T10:00:00+05:30",
    "flow.key.first-name": "Ravi",
    "flow.key.order-id-2": "A-17",
    "flow.key.score": 42,
}
lookup = lookup_in(VARIABLES)

NAMESPACE_EXAMPLES = [
    "flow.key.name",
    "flow.syskey.status",
    "user.key.plan",
    "user.syskey.language",
    "call.cli.number",
    "call.agent.dnis.number",
    "sys.datetime",
]


def one(value: Any) -> Any:
    """A lookup that knows a single variable, ``flow.key.v``."""
    return lookup_in({"flow.key.v": value})


# references of every namespace -------------------------------------------------------


@pytest.mark.parametrize("name", NAMESPACE_EXAMPLES)
def test_bare_reference_of_each_namespace_is_replaced(name: str) -> None:
    rendered = render(f"before ${name} after", lookup)
    assert rendered.text == f"before {VARIABLES[name]} after"
    assert rendered.missing == []


@pytest.mark.parametrize("name", NAMESPACE_EXAMPLES)
def test_braced_reference_of_each_namespace_can_touch_other_text(name: str) -> None:
    rendered = render(f"x${{{name}}}y", lookup)
    assert rendered.text == f"x{VARIABLES[name]}y"
    assert rendered.missing == []


@pytest.mark.parametrize("name", NAMESPACE_EXAMPLES)
def test_trailing_dot_after_a_reference_is_kept_as_punctuation(name: str) -> None:
    assert render(f"Hello ${name}.", lookup).text == f"Hello {VARIABLES[name]}."


def test_sentence_ending_in_a_reference_keeps_its_full_stop() -> None:
    assert render("Hello $flow.key.name.", lookup).text == "Hello Asha."


def test_hyphenated_names_are_one_reference() -> None:
    rendered = render("$flow.key.first-name / ${flow.key.order-id-2}", lookup)
    assert rendered.text == "Ravi / A-17"


def test_trailing_hyphen_is_not_part_of_the_name() -> None:
    assert render("$flow.key.name- and $flow.key.name--", lookup).text == "Asha- and Asha--"


def test_references_lists_names_in_order() -> None:
    template = "${flow.key.name} called $call.cli.number. at $sys.datetime"
    assert references(template) == ["flow.key.name", "call.cli.number", "sys.datetime"]


def test_dollar_signs_that_are_not_references_stay_as_written() -> None:
    template = "Pay $5, $flow.name, $FLOW.key.x, $other.key.x, $ flow.key.name, ${flow.key}"
    rendered = render(template, lookup)
    assert rendered.text == template
    assert rendered.missing == []


# unknown references -------------------------------------------------------------------


def test_unknown_references_stay_literal_and_are_reported() -> None:
    rendered = render("Hi $flow.key.nobody and ${user.key.gone}, $flow.key.name", lookup)
    assert rendered.text == "Hi $flow.key.nobody and ${user.key.gone}, Asha"
    assert rendered.missing == ["flow.key.nobody", "user.key.gone"]


def test_a_variable_set_to_none_is_known_and_reads_as_empty() -> None:
    rendered = render("[$flow.key.v]", one(None))
    assert rendered.text == "[]"
    assert rendered.missing == []


def test_lookup_in_answers_missing_for_unknown_names() -> None:
    assert lookup("flow.key.nobody") is MISSING


# value to text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (None, ""),
        (3.0, "3"),
        (-0.0, "0"),
        (2.5, "2.5"),
        (42, "42"),
        ("text", "text"),
        ({"a": 1, "b": [True, None], "c": "é"}, '{"a":1,"b":[true,null],"c":"é"}'),
        ([1, "two"], '[1,"two"]'),
    ],
    ids=[
        "true",
        "false",
        "none",
        "int-float",
        "negative-zero",
        "float",
        "int",
        "str",
        "dict",
        "list",
    ],
)
def test_values_read_as_text(value: Any, expected: str) -> None:
    assert to_text(value) == expected
    assert render("$flow.key.v", one(value)).text == expected


# escape contexts --------------------------------------------------------------------------


def test_escapes_are_registered_by_name() -> None:
    registered = dict(ESCAPES)
    assert registered == {
        "text": text,
        "json": json_string,
        "xml": xml,
        "url": url_component,
        "form": form,
    }


@pytest.mark.parametrize(
    ("escape", "value", "expected"),
    [
        (text, "a \"b\" <c> & 'd'", "a \"b\" <c> & 'd'"),
        (json_string, 'say "hi"\n\t\\ café', 'say \\"hi\\"\\n\\t\\\\ café'),
        (json_string, "\x00\x1f", "\\u0000\\u001f"),
        (xml, "<a & \"b\" 'c'>", "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;"),
        (url_component, "a b/c?d=é&e", "a%20b%2Fc%3Fd%3D%C3%A9%26e"),
        (form, "a b&c=d+é", "a+b%26c%3Dd%2B%C3%A9"),
    ],
    ids=["text", "json", "json-control", "xml", "url", "form"],
)
def test_each_context_escapes_the_value(escape: Escape, value: str, expected: str) -> None:
    assert render("$flow.key.v", one(value), escape).text == expected


def test_only_values_are_escaped_never_the_template() -> None:
    rendered = render('{"name": "$flow.key.v", "n": 1}', one('Ann "The" Great'), json_string)
    assert json.loads(rendered.text) == {"name": 'Ann "The" Great', "n": 1}


def test_an_object_value_lands_in_a_json_string_as_its_json_text() -> None:
    value = {"city": "Pune", "tags": ['"x"']}
    rendered = render('{"a": "$flow.key.v"}', one(value), json_string)
    assert json.loads(json.loads(rendered.text)["a"]) == value


def test_xml_keeps_carriage_returns_in_element_text() -> None:
    value = "line 1\r\nline 2\r"
    rendered = render("<a>$flow.key.v</a>", one(value), xml)
    assert ET.fromstring(rendered.text).text == value


def test_xml_keeps_newlines_and_tabs_in_attribute_values() -> None:
    value = "Flat 4\n\tMG Road\r\nPune"
    rendered = render('<contact address="$flow.key.v"/>', one(value), xml)
    assert ET.fromstring(rendered.text).get("address") == value


# properties ---------------------------------------------------------------------------------

XML_CHARS = st.one_of(
    st.sampled_from("\t\n\r"),
    st.characters(min_codepoint=0x20, max_codepoint=0xD7FF),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFD),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
)
"""The characters XML 1.0 allows in a document."""

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(st.text())
def test_json_string_round_trips_any_text(value: str) -> None:
    rendered = render("$flow.key.v", one(value), json_string)
    assert json.loads('{"a": "' + rendered.text + '"}')["a"] == value


@given(st.text(alphabet=XML_CHARS))
def test_xml_round_trips_any_xml_legal_text(value: str) -> None:
    rendered = render("<a>$flow.key.v</a>", one(value), xml)
    assert (ET.fromstring(rendered.text).text or "") == value


@given(st.text())
def test_url_component_round_trips_any_text(value: str) -> None:
    rendered = render("$flow.key.v", one(value), url_component)
    assert unquote(rendered.text) == value
    assert all(c.isascii() and (c.isalnum() or c in "%-._~") for c in rendered.text)


@given(st.text())
def test_form_round_trips_any_text(value: str) -> None:
    assert unquote_plus(render("$flow.key.v", one(value), form).text) == value


@given(st.text(alphabet=st.characters(exclude_characters="$")), st.sampled_from(list(ESCAPES)))
def test_templates_without_dollar_are_returned_unchanged(template: str, escape: str) -> None:
    rendered = render(template, lookup, ESCAPES[escape])
    assert rendered.text == template
    assert rendered.missing == []


@given(JSON_VALUES, st.sampled_from(["$flow.key.v", "${flow.key.v}"]))
def test_render_value_keeps_the_type_of_a_whole_reference(value: Any, template: str) -> None:
    rendered, missing = render_value(template, one(value))
    assert rendered == value
    assert type(rendered) is type(value)
    assert missing == []


TEMPLATE_LEAVES = st.sampled_from(
    ["$flow.key.name", "${flow.key.score}", "Hi $flow.key.name!", "plain", 7, None, True]
)
TEMPLATE_KEYS = st.sampled_from(["k", "$flow.key.name", "id-${flow.key.score}"])


def expected_render(node: Any) -> Any:
    """What render_value should produce for the templates built from the pieces above."""
    whole = {"$flow.key.name": "Asha", "${flow.key.score}": 42}
    if isinstance(node, str):
        return whole.get(node, node.replace("$flow.key.name", "Asha"))
    if isinstance(node, dict):
        keys = {"$flow.key.name": "Asha", "id-${flow.key.score}": "id-42"}
        return {keys.get(k, k): expected_render(v) for k, v in node.items()}
    if isinstance(node, list):
        return [expected_render(item) for item in node]
    return node


@given(
    st.recursive(
        TEMPLATE_LEAVES,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEMPLATE_KEYS, inner),
        max_leaves=12,
    )
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_render_value_renders_strings_nested_in_dicts_and_lists(template: Any) -> None:
    rendered, missing = render_value(template, lookup)
    assert rendered == expected_render(template)
    assert missing == []


def test_render_value_reports_unknown_references_and_leaves_them_literal() -> None:
    template = {"$flow.key.gone": ["$flow.key.nobody", "x ${user.key.none}", 1]}
    rendered, missing = render_value(template, lookup)
    assert rendered == template
    assert missing == ["flow.key.gone", "flow.key.nobody", "user.key.none"]
