"""A flow's drawing in a page: the SVG Graphviz made (``graphs/``, through the use cases)
with each widget's node made to open the widget's details beside the graph (htmx).

``dot`` puts each widget's id on its node (``<g id="widget-greet" class="node widget">``);
here each such node gets ``hx-get`` (the widget's details), ``hx-target`` and a pointer
cursor. The console's CSP allows no inline script and no ``hx-on``, so attributes are all
there is; keyboard and no-JavaScript users have the list of widgets under the graph, whose
links go to the same details.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from markupsafe import Markup

from flowhook.graphs import Drawing
from flowhook.graphs.dot import NODE_ID_PREFIX

_WIDGET_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_NODE = re.compile(r'<g id="([^"]*)" class="node ([^"]*)">')
DETAILS_TARGET = "#widget-details"


def interactive_svg(drawing: Drawing, widget_url: Callable[[str], str]) -> Markup | None:
    """The drawing's SVG to inline (None when there is none), each widget node opening
    ``widget_url(widget_id)`` into :data:`DETAILS_TARGET`.

    The SVG is Graphviz's, drawn from text escaped for it (``graphs.dot.quote``; a property
    test checks any text yields well-formed SVG of drawing elements only), so it is marked
    safe; the attributes added here are built from ids checked against the widget id
    pattern, and escaped anyway.
    """
    if drawing.svg is None:
        return None

    def node(match: re.Match[str]) -> str:
        element_id = html.unescape(match[1])  # Graphviz writes "-" as &#45;
        widget_id = element_id.removeprefix(NODE_ID_PREFIX)
        if not element_id.startswith(NODE_ID_PREFIX) or not _WIDGET_ID.match(widget_id):
            return match[0]
        url = html.escape(widget_url(widget_id))
        return (
            f'<g id="{html.escape(element_id)}" class="node {match[2]}" hx-get="{url}" '
            f'hx-target="{DETAILS_TARGET}" hx-swap="innerHTML" style="cursor: pointer">'
        )

    return Markup(_NODE.sub(node, drawing.svg))
