"""Error codes live in one registry (issue 14): ``flowhook.errors.Code``.

Every code a user can meet is a member of ``Code`` with its meaning; no module writes a
code as a string of its own (a typo would be a new, undocumented code), and docs/errors.md
lists exactly the registry.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import flowhook
from flowhook.api.errors import STATUS, status_of
from flowhook.errors import Code, FlowhookError, FlowTooLarge, NotFound, table
from flowhook.internal.outbound_body import Rejected, ResponseCode

SRC = Path(flowhook.__file__).parent
DOCS = SRC.parents[1] / "docs" / "errors.md"

# The same words as codes, meaning something else: ``$flow.key.response_status_type`` names
# the class of an HTTP status (``SUCCESSFUL``, ``CLIENT_ERROR``, …), not an error.
NOT_CODES = {
    ("webhooks/outcome.py", name)
    for name in ("INFORMATIONAL", "REDIRECTION", "CLIENT_ERROR", "SERVER_ERROR")
} | {("store/webhook_health.py", "GONE")}  # why a webhook was disabled: its receiver's 410


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            found.add(id(node.value))  # attribute docstrings
    return found


def test_no_module_writes_an_error_code_as_a_string() -> None:
    codes = {code.value for code in Code}
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "errors.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in codes
                and id(node) not in docstrings
                and (str(path.relative_to(SRC)), node.value) not in NOT_CODES
            ):
                found.append(f"{path.relative_to(SRC)}:{node.lineno} {node.value}")
    assert found == [], "use flowhook.errors.Code instead of these strings"


def _subclasses(cls: type[FlowhookError]) -> list[type[FlowhookError]]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def test_every_error_class_has_a_registered_code_and_an_http_status() -> None:
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__main__" or "migrations" in parts:
            continue  # __main__ runs the CLI; alembic runs the migrations
        importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    kinds = _subclasses(FlowhookError)
    assert len(kinds) > 20
    for kind in kinds:
        assert isinstance(kind.code, Code), kind
    assert {kind for kind in STATUS} <= set(kinds)


def test_every_refusal_of_the_outbound_api_is_a_registered_code() -> None:
    for response_code in ResponseCode:
        if response_code not in (ResponseCode.SUCCESS, ResponseCode.PARTIAL_SUCCESS):
            assert Rejected(response_code).code == response_code.name


def test_the_api_maps_an_error_to_its_status_by_its_nearest_kind() -> None:
    assert status_of(NotFound("no flow x", code=Code.FLOW_NOT_FOUND)) == 404
    assert status_of(FlowTooLarge("too big")) == 413
    assert status_of(FlowhookError("plain")) == 400


def test_every_code_has_a_meaning() -> None:
    for code in Code:
        assert code.meaning.strip(), code


def test_docs_list_every_error_code() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert table() in text, (
        "docs/errors.md is out of date: paste the output of "
        "`python -c 'from flowhook.errors import table; print(table())'`"
    )
