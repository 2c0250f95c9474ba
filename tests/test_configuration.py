"""Configuration in one place (issue 14): only settings.py reads the environment; every
other module is given a ``Settings``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import flowhook

SRC = Path(flowhook.__file__).parent


def _reads_environment(tree: ast.AST) -> list[int]:
    names = {"environ", "getenv", "environb"}
    attributes = [
        n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in names
    ]
    imports = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module == "os" and {a.name for a in n.names} & names
    ]
    return sorted(attributes + imports)


@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_only_settings_reads_the_environment() -> None:
    found = [
        f"{path.relative_to(SRC)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        if path != SRC / "settings.py"
        for line in _reads_environment(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert found == []


def test_the_checker_sees_both_ways_of_reading_it() -> None:
    assert _reads_environment(ast.parse("import os\nos.environ.get('X')")) == [2]
    assert _reads_environment(ast.parse("from os import getenv")) == [1]
