"""Flow documents from text: JSON, or YAML read by the one loader every YAML flow goes
through (the API's ``POST``/``PUT /v1/flows`` and ``flowhook run``).

The loader is PyYAML's safe loader with three fences, because a YAML document can cost far
more than its size:

- **No anchors or aliases** (422 ``YAML_ALIAS_FORBIDDEN``). An alias repeats a whole
  sub-tree, and the flow is stored as JSON with every repetition written out: a 103 KB
  body became a 114 MB flow. Counting values after loading came too late (the expansion
  had happened) and counts values, not bytes. Refusing them costs authors little — a
  flow's widgets differ — where bounding the expansion would need a second size rule.
- **Nesting bounded while composing** (422 ``NESTED_TOO_DEEP``) at the depth flows may
  have anyway (:data:`flowhook.engine.state.MAX_DEPTH`), before the recursive composer
  and constructor go deeper. libyaml's scanner stops at 1,000 levels by itself; the
  pure-Python scanner (used only where PyYAML was built without libyaml) is stopped at
  the same depth, as it slows down quadratically with depth (a 240 KB, 120,000-deep body
  held the event loop for seconds).
- **Text checked as it is read** (:mod:`flowhook.text`): NUL and lone surrogates, which
  YAML's escapes (``"\\0"``, ``"\\ud800"``) can write, get the same 422 as in JSON.

libyaml parses (C, ≈7× faster than the Python parser) and a Python composer on top of its
events applies the fences (aliases are resolved by libyaml's own composer, out of reach).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, CollectionStartEvent, Event, ScalarEvent
from yaml.nodes import Node
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from flowhook import codec, text
from flowhook.engine.state import MAX_DEPTH
from flowhook.errors import BadRequest, NestedTooDeep, YamlAliasForbidden


def _too_deep() -> NestedTooDeep:
    return NestedTooDeep(f"the document nests lists and objects more than {MAX_DEPTH} levels deep")


def load_json(raw: bytes | str) -> Any:
    """A JSON document; 400 ``MALFORMED_JSON`` when it is not JSON. The parser stops by
    itself past ≈1,000 levels (orjson's limit, then the standard library's recursion
    limit); deeper than :data:`MAX_DEPTH` is refused by the flow's validation."""
    try:
        return codec.loads(raw)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:
        raise BadRequest("the request body is not valid JSON", code="MALFORMED_JSON") from None


def load_yaml(data: bytes | str) -> Any:
    """A YAML (or JSON) document through the fenced loader; 400 ``MALFORMED_YAML`` when it
    is not YAML."""
    loader = _Loader(data)
    try:
        return loader.get_single_data()
    except RecursionError:  # not expected with the fences; a 500 would be worse
        raise _too_deep() from None
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):  # libyaml's own limit, met while scanning
            raise _too_deep() from None
        raise BadRequest(f"the body is not valid YAML: {exc}", code="MALFORMED_YAML") from None
    finally:
        loader.dispose()


class _FencedComposer(Composer):
    """PyYAML's composer, refusing anchors and aliases, bounding depth, checking text."""

    _depth = 0
    # the parser's event methods (libyaml's or PyYAML's parser, mixed in by the loader)
    check_event: Callable[..., bool]
    get_event: Callable[[], Event]
    peek_event: Callable[[], Event]

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.get_event()
            raise YamlAliasForbidden(
                f"YAML aliases (*{getattr(event, 'anchor', '')}) are not accepted in flows: "
                f"write the value out ({_line(event)})"
            )
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            raise YamlAliasForbidden(
                f"YAML anchors (&{getattr(event, 'anchor', '')}) are not accepted in flows: "
                f"write the value out ({_line(event)})"
            )
        if isinstance(event, ScalarEvent):
            text.check(event.value, _line(event))
            return super().compose_node(parent, index)
        assert isinstance(event, CollectionStartEvent)
        if self._depth >= MAX_DEPTH:
            raise _too_deep()
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _line(event: Event) -> str:
    return f"line {event.start_mark.line + 1}" if event.start_mark else "the document"


class _DepthBoundScanner(Scanner):
    """The pure-Python scanner, stopped past :data:`MAX_DEPTH` flow or block levels."""

    def fetch_more_tokens(self) -> None:
        super().fetch_more_tokens()
        if self.flow_level + len(self.indents) > MAX_DEPTH + 1:
            raise _too_deep()


class _PyLoader(Reader, _DepthBoundScanner, Parser, _FencedComposer, SafeConstructor, Resolver):
    """All Python: where PyYAML was built without libyaml."""

    def __init__(self, stream: bytes | str) -> None:
        Reader.__init__(self, stream)
        _DepthBoundScanner.__init__(self)
        Parser.__init__(self)
        _FencedComposer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)


_Loader: type[_PyLoader] | type[Any] = _PyLoader
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _CLoader(_FencedComposer, CParser, SafeConstructor, Resolver):
        """libyaml's parser under the fenced composer."""

        def __init__(self, stream: bytes | str) -> None:
            CParser.__init__(self, stream)
            _FencedComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    _Loader = _CLoader
