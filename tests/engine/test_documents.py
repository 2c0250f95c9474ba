"""The one YAML loader of flow documents (API and ``flowhook run``), on libyaml's parser and
on PyYAML's own (used where PyYAML was built without libyaml): anchors and aliases are
refused, nesting is bounded while parsing, text is checked as it is read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from flowhook.api.errors import status_of
from flowhook.engine import documents, yaml_fence
from flowhook.engine.state import MAX_DEPTH
from flowhook.errors import FlowhookError

PARSERS = ["python"] + (["libyaml"] if yaml.__with_libyaml__ else [])


@pytest.fixture(params=PARSERS)
def parser(request: pytest.FixtureRequest) -> Iterator[str]:
    chosen = yaml_fence.Loader
    if request.param == "python":
        yaml_fence.Loader = yaml_fence.PyLoader
    try:
        yield request.param
    finally:
        yaml_fence.Loader = chosen


def code_of(doc: str) -> str:
    with pytest.raises(FlowhookError) as caught:
        documents.load_yaml(doc.encode())
    return caught.value.code


def test_plain_yaml_loads_as_safe_load_does(parser: str) -> None:
    doc = "name: x\nentry: {start: a}\nwidgets:\n  a: {type: end, n: [1, 2.5, true, null]}\n"
    assert documents.load_yaml(doc) == yaml.safe_load(doc)


@pytest.mark.parametrize(
    "doc",
    ["a: &x 1\nb: *x\n", "a: &x [1]\n", "a: &x {k: v}\nb: {<<: *x}\n", "- *undefined\n"],
    ids=["alias", "unused_anchor", "merge_key", "unknown_alias"],
)
def test_anchors_and_aliases_are_refused(parser: str, doc: str) -> None:
    assert code_of(doc) == "YAML_ALIAS_FORBIDDEN"


def test_depth_up_to_the_flow_limit_loads_and_beyond_is_refused(parser: str) -> None:
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert documents.load_yaml(at_limit) is not None
    assert code_of("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)) == "NESTED_TOO_DEEP"
    block = "".join("  " * i + "-\n" for i in range(MAX_DEPTH + 1)) + "  " * (MAX_DEPTH + 1) + "x"
    assert code_of(block) == "NESTED_TOO_DEEP"


@pytest.mark.parametrize("depth", [1_000, 120_000])
def test_thousands_deep_is_refused_not_a_recursion_error(parser: str, depth: int) -> None:
    assert code_of("a: " + "[" * depth + "]" * depth) == "NESTED_TOO_DEEP"
    assert code_of("- " * depth + "x") == "NESTED_TOO_DEEP"


def test_a_nul_in_a_value_or_a_key_is_refused(parser: str) -> None:
    assert code_of('a: "x\\0y"\n') == "NUL_NOT_ALLOWED"
    assert code_of('"k\\0": 1\n') == "NUL_NOT_ALLOWED"


def test_a_surrogate_escape_is_refused(parser: str) -> None:
    # YAML has no surrogate pairs (\U0001F600 is the escape): any \uD800-\uDFFF is lone
    expected = "INVALID_TEXT" if parser == "python" else "MALFORMED_YAML"  # libyaml: invalid
    assert code_of('a: "\\ud800"\n') == expected


def test_malformed_yaml_is_a_400(parser: str) -> None:
    with pytest.raises(FlowhookError) as caught:
        documents.load_yaml("a: [\n")
    assert (status_of(caught.value), caught.value.code) == (400, "MALFORMED_YAML")


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(st.characters(codec="utf-8")),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=15,
    )
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_any_dumped_document_loads_as_safe_load_does_on_both_parsers(value: Any) -> None:
    doc = yaml.safe_dump(value, allow_unicode=True)
    for loader in {yaml_fence.PyLoader, yaml_fence.Loader}:
        chosen = yaml_fence.Loader
        yaml_fence.Loader = loader
        try:
            try:
                loaded = documents.load_yaml(doc)
            except FlowhookError as exc:  # only text no database can store is refused
                assert exc.code == "NUL_NOT_ALLOWED", exc
                continue
            assert loaded == yaml.safe_load(doc)  # PyYAML's own answer (a NEL reads as " ")
        finally:
            yaml_fence.Loader = chosen


def test_flowhook_run_reads_yaml_through_the_same_loader(tmp_path: Path) -> None:
    from flowhook.cli import app

    flow = tmp_path / "flow.yaml"
    flow.write_text(
        "name: local\nentry: {start: a}\nwidgets:\n  a: &w {type: end}\n  b: *w\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["run", str(flow)])
    assert result.exit_code == 2, result.output
    assert "YAML_ALIAS_FORBIDDEN" in result.output
