"""Response mapping: a response body parsed into plain data and values picked out of it by
paths rooted at ``data`` (spec §5.4.4: ``data.score``, ``data.items[0].id``,
``data["key with space"]``) into flow variables.

JSON stays as parsed. XML becomes nested dicts: the root element is ``data``; an element
with children or attributes is a dict (attributes as ``"@name"``, its own text as
``"#text"``), a repeated child becomes a list, a text-only element is its text (XML has no
types: numbers stay strings), an empty one is None. DTDs are refused, so entity tricks
(billion laughs, external entities) cannot reach the parser.

What a response puts into the state is bounded where it enters: the response may nest at
most ``max_depth`` levels (XML is stopped while it is parsed, JSON before anything walks
it), and the values one call maps may hold at most ``max_bytes`` of JSON and only text the
databases can store (:mod:`flowhook.text`). Beyond, the widget fails with
``MAPPING_FAILED`` and the reason — once: a state the encoder or the engine's JSON
columns cannot take would crash the worker at its next checkpoint, be claimed again and
call the API again, and a stored one nested hundreds deep could no longer be served.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, TypedDict
from xml.parsers import expat

from flowhook import codec, text
from flowhook.errors import Code, FlowhookError

ROOT = "data"
DEFAULT_MAX_DEPTH = 64
"""As ``Settings.response_map_max_depth``: deep enough for any API, shallow enough for
every encoder and the API's answers."""


class MappingError(FlowhookError):
    """A response could not be parsed, or a path does not lead to a value."""

    code = Code.MAPPING_FAILED

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}", details={"path": path, "reason": reason})
        self.path = path
        self.reason = reason


class MapEntry(TypedDict, total=False):
    path: str
    optional: bool


ResponseMap = dict[str, str | MapEntry]
"""Variable name → path, or ``{"path": …, "optional": True}`` for a value that may be absent."""


# parsing ----------------------------------------------------------------------------------


def parse_response(body: bytes, content_type: str, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """The body as plain data, by its declared type; an undeclared one is tried as JSON, then
    XML. An empty body is None. Nested more than ``max_depth`` levels: ``MappingError``."""
    if not body.strip():
        return None
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind.endswith("json"):  # application/json, application/problem+json, text/json
        return _parse_json(body, max_depth)
    if kind.endswith("xml"):  # application/xml, text/xml, application/soap+xml
        return parse_xml(body, max_depth)
    try:
        return _parse_json(body, max_depth)
    except _TooDeep:
        raise
    except MappingError:
        pass
    try:
        return parse_xml(body, max_depth)
    except _TooDeep:
        raise
    except MappingError:
        raise MappingError(ROOT, "response is neither JSON nor XML") from None


class _TooDeep(MappingError):
    def __init__(self, max_depth: int) -> None:
        super().__init__(ROOT, f"the response nests more than {max_depth} levels deep")


def _parse_json(body: bytes, max_depth: int) -> Any:
    try:
        parsed = codec.loads(body.decode("utf-8-sig") if body[:3] == b"\xef\xbb\xbf" else body)
    except RecursionError:  # the parsers stop by themselves past ≈1,000 levels
        raise _TooDeep(max_depth) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MappingError(ROOT, f"invalid JSON: {exc}") from None
    # Each list or object opens with a bracket of the body: with no more brackets than
    # max_depth (counted in C, strings included) it cannot nest deeper, and most answers
    # are that small; only bigger ones are walked.
    if body.count(b"{") + body.count(b"[") > max_depth and _deeper_than(parsed, max_depth):
        raise _TooDeep(max_depth)
    return parsed


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Whether lists and objects nest more than ``max_depth`` levels (iterative)."""
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, dict | list):
            if depth == max_depth:
                return True
            children = node.values() if isinstance(node, dict) else node
            todo.extend((child, depth + 1) for child in children)
    return False


class _XmlBuilder:
    """Builds the nested dicts from expat events, one frame per open element."""

    def __init__(self, max_depth: int) -> None:
        self.stack: list[tuple[str, dict[str, Any], list[str]]] = []
        self.root: Any = None
        self.max_depth = max_depth

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if len(self.stack) == self.max_depth:  # stops expat at once, however deep the rest
            raise _TooDeep(self.max_depth)
        self.stack.append((tag, {f"@{k}": v for k, v in attrs.items()}, []))

    def text(self, data: str) -> None:
        if self.stack:
            self.stack[-1][2].append(data)

    def end(self, tag: str) -> None:
        _, node, texts = self.stack.pop()
        text = "".join(texts).strip()
        value: Any
        if node:
            if text:
                node["#text"] = text
            value = node
        else:
            value = text or None
        if not self.stack:
            self.root = value
            return
        parent = self.stack[-1][1]
        if tag not in parent:
            parent[tag] = value
        elif isinstance(parent[tag], list):  # element values are never lists otherwise
            parent[tag].append(value)
        else:
            parent[tag] = [parent[tag], value]


def parse_xml(body: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """XML as nested dicts (see the module docstring); the root element's content is returned.
    Elements nested more than ``max_depth`` levels: ``MappingError``."""
    builder = _XmlBuilder(max_depth)
    parser = expat.ParserCreate()

    def refuse(*_: Any) -> None:
        raise MappingError(ROOT, "XML with a DTD or entity declarations is not accepted")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.text
    parser.buffer_text = True
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise MappingError(ROOT, f"invalid XML: {exc}") from None
    return builder.root


# paths ------------------------------------------------------------------------------------

_STEP = re.compile(
    r"""\.(?P<name>[^.\[\]\s"']+)"""
    r"""|\[\s*(?P<index>-?\d+)\s*\]"""
    r"""|\[\s*"(?P<dq>(?:[^"\\]|\\.)*)"\s*\]"""
    r"""|\[\s*'(?P<sq>(?:[^'\\]|\\.)*)'\s*\]"""
)
_UNESCAPE = re.compile(r"\\(.)")

Step = str | int


@lru_cache(maxsize=1024)
def parse_path(path: str) -> tuple[Step, ...]:
    """``data.items[0]["a b"]`` → ``("items", 0, "a b")``; raises ``MappingError`` if malformed."""
    text = path.strip()
    if text != ROOT and not text.startswith((ROOT + ".", ROOT + "[")):
        raise MappingError(path, f"a path starts with '{ROOT}', e.g. {ROOT}.field")
    steps: list[Step] = []
    pos = len(ROOT)
    while pos < len(text):
        match = _STEP.match(text, pos)
        if match is None:
            raise MappingError(path, f"cannot read the path at {text[pos:]!r}")
        if match.group("name") is not None:
            steps.append(match.group("name"))
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        else:
            quoted = match.group("dq") if match.group("dq") is not None else match.group("sq")
            steps.append(_UNESCAPE.sub(r"\1", quoted))
        pos = match.end()
    return tuple(steps)


def extract(data: Any, path: str) -> Any:
    """The value at ``path`` in ``data``; raises ``MappingError(path, reason)`` if absent."""
    node = data
    walked = ROOT
    for step in parse_path(path):
        if isinstance(node, list):
            index = step if isinstance(step, int) else _digits(step)
            if index is None:
                raise MappingError(path, f"{walked} is a list; use an index like [0]")
            if not -len(node) <= index < len(node):
                raise MappingError(path, f"{walked} has {len(node)} items, no [{index}]")
            node = node[index]
            walked += f"[{index}]"
        elif isinstance(node, dict):
            key = str(step)
            if key not in node:
                raise MappingError(path, f"{walked} has no {key!r}")
            node = node[key]
            walked += f".{key}"
        else:
            kind = "null" if node is None else type(node).__name__
            raise MappingError(path, f"{walked} is {kind}, not an object or a list")
    return node


def apply_response_map(
    parsed: Any, response_map: ResponseMap, max_bytes: int | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Values for each variable of ``response_map`` and the required paths that were missing.

    An optional path that is missing leaves its variable out (untouched), without complaint.
    A value with text no database can store, or values larger together than ``max_bytes``
    of JSON, raise ``MappingError``: the values cannot enter the state.
    """
    values: dict[str, Any] = {}
    missing: list[str] = []
    for variable, entry in response_map.items():
        if isinstance(entry, str):
            path, optional = entry, False
        else:
            path, optional = entry.get("path", ""), bool(entry.get("optional", False))
        try:
            values[variable] = extract(parsed, path)
        except MappingError:
            if not optional:
                missing.append(path)
            continue
        bad = text.value_problem(values[variable], path)
        if bad is not None:
            raise MappingError(*bad)
    if max_bytes is not None and values:
        size = len(codec.dumps(values))
        if size > max_bytes:
            raise MappingError(
                ROOT, f"the mapped values are {size} bytes of JSON, more than {max_bytes}"
            )
    return values, missing


def _digits(step: str) -> int | None:
    return int(step) if step.lstrip("-").isdigit() else None
