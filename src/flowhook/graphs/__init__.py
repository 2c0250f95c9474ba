"""Flows drawn as graphs: a flow document → Graphviz DOT (:mod:`.dot`, pure), the path an
execution took for colouring it (:mod:`.path`), and DOT → inline SVG by running Graphviz's
``dot`` (:mod:`.render`, cached; a clear answer where ``dot`` is not installed).

Shared by the console and any other adapter: it knows no web layer and no store; the use
cases hand it a flow document and a step log.
"""

from flowhook.graphs.dot import flow_dot
from flowhook.graphs.path import TakenPath, taken_path
from flowhook.graphs.render import Drawing, GraphRenderer

__all__ = ["Drawing", "GraphRenderer", "TakenPath", "flow_dot", "taken_path"]
