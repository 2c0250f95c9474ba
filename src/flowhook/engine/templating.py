"""Variable references (``$flow.key.x``, ``${flow.key.x}``) replaced by their values.

Pure functions, no I/O. A value is escaped for the context it lands in (JSON string, XML,
URL, form), so a customer's name with quotes or ``<&>`` never breaks a request body. An
unknown reference stays literal, as the original product does, and is reported to the
caller so the step log can warn about it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

# The syntax is plain data (domain/references.py) so that request specs can be validated
# without the engine; the engine names it too, for its widgets.
from flowhook.domain.references import REFERENCE as REFERENCE

Escape = Callable[[str], str]
Lookup = Callable[[str], Any]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""What a lookup returns for an unknown variable."""


def text(value: str) -> str:
    return value


def json_string(value: str) -> str:
    """Escape for the inside of a JSON string literal."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


_XML_ESCAPES = (
    ("&", "&amp;"),  # first: the other replacements add ampersands
    (">", "&gt;"),
    ("<", "&lt;"),
    ('"', "&quot;"),
    ("'", "&apos;"),
    ("\r", "&#13;"),
    ("\n", "&#10;"),
    ("\t", "&#9;"),
)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml(value: str) -> str:
    """Escape for element text and attribute values. Line breaks and tabs become character
    references (parsers would normalise them otherwise); characters XML 1.0 forbids become
    U+FFFD so the document stays parseable."""
    # what xml.sax.saxutils.escape does, without importing it (it imports urllib.request)
    escaped = _XML_ILLEGAL.sub("\ufffd", value)
    for char, entity in _XML_ESCAPES:
        escaped = escaped.replace(char, entity)
    return escaped


def url_component(value: str) -> str:
    """Escape for a URL path segment or query value."""
    return quote(value, safe="")


def form(value: str) -> str:
    return quote_plus(value)


ESCAPES: dict[str, Escape] = {
    "text": text,
    "json": json_string,
    "xml": xml,
    "url": url_component,
    "form": form,
}


def to_text(value: Any) -> str:
    """How a variable reads inside a string: booleans as true/false, objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


@dataclass
class Rendered:
    text: str
    missing: list[str] = field(default_factory=list)


def references(template: str) -> list[str]:
    """Every variable name (without ``$``) a template refers to, in order."""
    return [m.group("braced") or m.group("bare") for m in REFERENCE.finditer(template)]


def render(template: str, lookup: Lookup, escape: Escape = text) -> Rendered:
    """Replace each known reference by its escaped text; unknown ones stay as written."""
    if "$" not in template:
        return Rendered(template)
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        value = lookup(name)
        if value is MISSING:
            missing.append(name)
            return match.group(0)
        return escape(to_text(value))

    return Rendered(REFERENCE.sub(substitute, template), missing)


@functools.lru_cache(maxsize=8192)
def whole_reference(template: str) -> str | None:
    """The variable's name when ``template`` is exactly one reference (``$flow.key.x``),
    else None. Cached by the text: a flow's templates are the same strings run after run."""
    whole = REFERENCE.fullmatch(template)
    return (whole.group("braced") or whole.group("bare")) if whole else None


def render_value(template: Any, lookup: Lookup) -> tuple[Any, list[str]]:
    """Render a JSON-shaped template structurally: strings inside dicts and lists are
    rendered; a string that is exactly one reference takes the variable's own type (so
    ``"$flow.key.score"`` becomes ``42``, not ``"42"``). Keys are rendered as text."""
    missing: list[str] = []

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            if "$" not in node:  # most strings of a body: nothing to render
                return node
            name = whole_reference(node)
            if name is not None:
                value = lookup(name)
                if value is not MISSING:
                    return value
            rendered = render(node, lookup)
            missing.extend(rendered.missing)
            return rendered.text
        if isinstance(node, dict):
            out = {}
            for key, item in node.items():
                key = str(key)
                if "$" in key:
                    key_r = render(key, lookup)
                    missing.extend(key_r.missing)
                    key = key_r.text
                out[key] = walk(item)
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(template), missing


def lookup_in(values: Mapping[str, Any]) -> Lookup:
    """A lookup over a plain mapping of names (``flow.key.x``) to values."""

    def lookup(name: str) -> Any:
        return values.get(name, MISSING)

    return lookup
