"""The fenced YAML loader behind :func:`flowhook.engine.documents.load_yaml`: PyYAML's safe
loader that refuses anchors and aliases, bounds nesting while composing, and checks text as
it is read (see that module for why)."""

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

from flowhook import text
from flowhook.engine.documents import too_deep
from flowhook.engine.state import MAX_DEPTH
from flowhook.errors import YamlAliasForbidden


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
            raise too_deep()
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
            raise too_deep()


class PyLoader(Reader, _DepthBoundScanner, Parser, _FencedComposer, SafeConstructor, Resolver):
    """All Python: where PyYAML was built without libyaml."""

    def __init__(self, stream: bytes | str) -> None:
        Reader.__init__(self, stream)
        _DepthBoundScanner.__init__(self)
        Parser.__init__(self)
        _FencedComposer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)


Loader: type[PyLoader] | type[Any] = PyLoader
if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class CLoader(_FencedComposer, CParser, SafeConstructor, Resolver):
        """libyaml's parser under the fenced composer."""

        def __init__(self, stream: bytes | str) -> None:
            CParser.__init__(self, stream)
            _FencedComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    Loader = CLoader
