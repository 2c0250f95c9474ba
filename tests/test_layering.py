"""Dependencies point inward (issue 14): the import graph of src/flowhook follows LAYERS.

The graph is read with `ast`, not by importing: every `import x` and `from x import y` in a
module, at module level or inside a function, counts. Imports under `if TYPE_CHECKING:`
count too: a type named in a signature is a dependency of the design even if Python never
loads it at run time, and a cycle hidden behind TYPE_CHECKING is still a cycle that stops a
package from being understood, tested or moved on its own. Dynamic imports by name
(`importlib.import_module` in the widget registry and `runtime.preload`) are plugin loading,
not static dependencies, and are not in the graph.

A node of the graph is a top-level part of flowhook: a subpackage (`flowhook.webhooks`) or a
top-level module (`flowhook.settings`); the package's own `__init__` is `flowhook`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import flowhook

SRC = Path(flowhook.__file__).parent

# Top first. An import may go to any lower layer (skipping layers is fine), never to a
# higher one; inside one layer only the pairs in SIDEWAYS are allowed.
LAYERS: list[tuple[str, frozenset[str]]] = [
    ("entry points", frozenset({"cli", "localrun", "supervisor", "__main__"})),
    ("routers", frozenset({"api", "ui", "statuses"})),
    ("use cases", frozenset({"usecases"})),
    # The composition root builds every service; only the layers above it may use it.
    ("composition root", frozenset({"runtime"})),
    # Runs executions and leases work; the features below must not reach up into it.
    ("worker", frozenset({"worker"})),
    # graphs: flows drawn with Graphviz (reads flow documents and step logs, runs `dot`).
    ("features", frozenset({"widgets", "webhooks", "internal", "channels", "graphs"})),
    # Persistence: below the features that save things, above the engine whose state it saves.
    ("store", frozenset({"store"})),
    ("engine", frozenset({"engine"})),
    ("domain", frozenset({"domain"})),
    ("support", frozenset({"text", "logging", "codec", "ids", "cache", "forwarded"})),
    ("core", frozenset({"errors", "settings", "flowhook"})),
]

SIDEWAYS: frozenset[tuple[str, str]] = frozenset(
    {
        ("__main__", "cli"),  # `python -m flowhook`
        ("cli", "localrun"),  # `flowhook run` runs a flow without a server
        ("cli", "supervisor"),  # `serve --processes N` starts and keeps the copies
        ("api", "ui"),  # create_app mounts the console beside the API (never the reverse)
        ("api", "statuses"),  # the HTTP status of each error, shared by the two routers
        ("ui", "statuses"),
        ("widgets", "webhooks"),  # the webhook widget sends through the delivery engine
        ("widgets", "internal"),  # agent and internal-method widgets call the internal API
        ("widgets", "channels"),  # call, SMS and e-mail widgets act through the channel layer
        ("channels", "webhooks"),  # HTTP SMS gateways reuse the request builder and its guard
    }
)

# Downward, yet not allowed: the store is reached from use cases, the worker, the composition
# root and the services the engine's context is given, never from routers or widgets.
FORBIDDEN: frozenset[tuple[str, str]] = frozenset(
    {("api", "store"), ("ui", "store"), ("widgets", "store")}
)

# (importing module, imported module) edges that break the rules today. The test fails when a
# new one appears AND when one listed here is gone, so that this list only shrinks: remove
# the line in the commit that fixes it.
KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _imported(module: str, path: Path) -> Iterator[str]:
    """Every flowhook module `module` imports, wherever the import statement is."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                # `from flowhook.store import agents` imports the module flowhook.store.agents
                submodule = f"{source}.{alias.name}"
                yield submodule if submodule in MODULES else source


def module_edges() -> set[tuple[str, str]]:
    return {
        (module, target)
        for module, path in MODULES.items()
        for target in _imported(module, path)
        if (target == "flowhook" or target.startswith("flowhook.")) and target != module
    }


def part(module: str) -> str:
    """The top-level part of flowhook a module belongs to."""
    return module.split(".")[1] if "." in module else module


LEVEL: dict[str, int] = {
    name: len(LAYERS) - index for index, (_, names) in enumerate(LAYERS) for name in names
}


def allowed(source: str, target: str) -> bool:
    if source == target:
        return True
    if (source, target) in FORBIDDEN:
        return False
    if LEVEL[source] > LEVEL[target]:
        return True
    return LEVEL[source] == LEVEL[target] and (source, target) in SIDEWAYS


def violations() -> set[tuple[str, str]]:
    return {(a, b) for a, b in module_edges() if not allowed(part(a), part(b))}


def test_every_part_of_flowhook_has_a_layer() -> None:
    parts = {part(module) for module in MODULES}
    assert parts - LEVEL.keys() == set(), "give each new package or module a layer in LAYERS"
    assert LEVEL.keys() - parts == set(), "LAYERS names a part that no longer exists"


def test_the_graph_sees_every_kind_of_import() -> None:
    """The checker itself: module-level, function-level, `from a import module` and
    TYPE_CHECKING imports are all edges (each line below is one of them in the code)."""
    edges = module_edges()
    assert ("flowhook.api.app", "flowhook.webhooks.metrics") in edges  # module level
    assert ("flowhook.cli", "flowhook.store.db") in edges  # inside a function
    assert ("flowhook.engine.state", "flowhook.text") in edges  # from flowhook import text
    assert ("flowhook.engine.widget", "flowhook.engine.context") in edges  # TYPE_CHECKING


def test_imports_point_inward() -> None:
    found = violations()
    new = sorted(found - KNOWN_VIOLATIONS)
    gone = sorted(KNOWN_VIOLATIONS - found)
    assert new == [], f"imports against LAYERS (fix them; do not list them): {new}"
    assert gone == [], f"fixed: remove these from KNOWN_VIOLATIONS so they stay fixed: {gone}"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph`, or None (depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_between_packages() -> None:
    """Between top-level parts, known violations included (none of them makes a cycle)."""
    graph: dict[str, set[str]] = {}
    for a, b in module_edges():
        if part(a) != part(b):
            graph.setdefault(part(a), set()).add(part(b))
    assert _cycle(graph) is None
