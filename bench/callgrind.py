"""Reading callgrind's dump files: the instruction total, and where it went by shared object
and by function (self cost, not inclusive).

The format is valgrind's (https://valgrind.org/docs/manual/cl-format.html). Names are
compressed: ``fn=(12) name`` defines id 12, a later ``fn=(12)`` refers to it; ``ob``/``cob``
share one table of ids, ``fn``/``cfn`` another, ``fl``/``fi``/``fe``/``cfi``/``cfl`` a third.
A cost line after a ``calls=`` line is the inclusive cost of that call, not the caller's own
work, so it is left out of the self costs. The file's ``totals:`` line (the sum of the self
costs) is the total; ``summary:`` is read only when ``totals:`` is missing, because after a
``--zero`` it can differ from the sum of what the file holds.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

EVENT = "Ir"
"""Instructions executed (callgrind's one event unless cache or branch simulation is on)."""

_NAMED = re.compile(r"^\((\d+)\)(?: (.*))?$")
_RECURSION = re.compile(r"'\d+$")
_SPACES = {"ob": "ob", "cob": "ob", "fn": "fn", "cfn": "fn"}


@dataclass
class Dump:
    """One dump of one process."""

    total: int
    objects: dict[str, int] = field(default_factory=dict)
    """Self instructions per shared object (full path as valgrind names it)."""
    functions: dict[tuple[str, str], int] = field(default_factory=dict)
    """Self instructions per (shared object, function)."""
    command: str = ""
    pid: int = 0

    def top_functions(self, n: int) -> list[tuple[str, str, int]]:
        ranked = sorted(self.functions.items(), key=lambda item: -item[1])[:n]
        return [(obj, fn, ir) for (obj, fn), ir in ranked]


def parse(path: Path) -> Dump:
    """Read a callgrind output file (uncompressed or with compressed names)."""
    names: dict[str, dict[str, str]] = {"ob": {}, "fn": {}}
    positions = 1
    event_at = 0
    obj, fn = "???", "???"
    after_calls = False
    totals: int | None = None
    summary: int | None = None
    command, pid = "", 0
    objects: dict[str, int] = defaultdict(int)
    functions: dict[tuple[str, str], int] = defaultdict(int)

    def name(space: str, value: str) -> str:
        found = _NAMED.match(value)
        if found is None:
            return value
        ident, text = found.groups()
        if text is not None:
            names[space][ident] = text
            return text
        return names[space].get(ident, f"({ident})")

    with path.open(encoding="utf-8", errors="replace") as lines:
        for raw in lines:
            line = raw.rstrip("\n")
            head = line[:1]
            if head.isdigit() or head in "+-*":
                if after_calls:
                    after_calls = False  # the callee's inclusive cost: not ours
                    continue
                parts = line.split()
                column = positions + event_at
                cost = int(parts[column]) if len(parts) > column else 0
                if cost:
                    objects[obj] += cost
                    functions[(obj, fn)] += cost
                continue
            key, sep, value = line.partition("=")
            if sep and key in _SPACES:
                text = name(_SPACES[key], value)
                if key == "ob":
                    obj = text
                elif key == "fn":
                    fn = _RECURSION.sub("", text)  # `f'2`: f called from itself, still f
                continue
            if sep and key == "calls":
                after_calls = True
                continue
            key, sep, value = line.partition(":")
            if not sep:
                continue
            value = value.strip()
            if key == "positions":
                positions = len(value.split())
            elif key == "events":
                event_at = value.split().index(EVENT)
            elif key == "totals":
                totals = int(value.split()[event_at])
            elif key == "summary":
                summary = int(value.split()[event_at])
            elif key == "cmd":
                command = value
            elif key == "pid":
                pid = int(value)
    total = totals if totals is not None else summary
    if total is None:
        raise ValueError(f"{path}: no totals: or summary: line (an incomplete dump?)")
    return Dump(total, dict(objects), dict(functions), command, pid)


def complete(path: Path) -> bool:
    """Whether a dump file has been written to its end (its last line is ``totals:``)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 200))
            tail = handle.read().decode(errors="replace")
    except OSError:
        return False
    return "\ntotals:" in tail and tail.endswith("\n")


def object_label(path: str) -> str:
    """A short name for a shared object: ``package/module`` for an extension module in
    site-packages (``uvloop/loop``, ``aiohttp/_http_parser``), ``lib-dynload/_sqlite3`` for
    the standard library's, else the file's name (``libpython3.11.so.1.0``, ``libc.so.6``)."""
    base = path.rsplit("/", 1)[-1]
    module = base.split(".", 1)[0]
    found = re.search(r"/site-packages/(.+)/[^/]+$", path)
    if found:
        return f"{found.group(1)}/{module}"
    if "/lib-dynload/" in path:
        return f"lib-dynload/{module}"
    return base


GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("CPython", ("libpython", "python3")),
    ("SQLite", ("libsqlite3", "lib-dynload/_sqlite3")),
    ("libc", ("libc.so", "libm.so", "ld-linux")),
    ("uvloop", ("uvloop/",)),
    ("aiohttp", ("aiohttp/", "multidict/", "yarl/", "frozenlist/", "propcache/")),
    ("httptools", ("httptools/",)),
    ("orjson", ("orjson/",)),
    ("OpenSSL", ("libcrypto", "libssl", "lib-dynload/_hashlib", "lib-dynload/_ssl")),
    ("pydantic", ("pydantic_core/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
)
"""What a reader asks of a split: the interpreter (which runs every line of Python, ours
and every library's), the database, the C library, the event loop, the HTTP stack's
compiled parts, JSON, crypto."""


def group_of(label: str) -> str:
    """The group of an object's short label (``object_label``); "other" when none fits."""
    for group, prefixes in GROUPS:
        if label.startswith(prefixes):
            return group
    return "other"
