"""Where the system's CPU goes: py-spy's raw profile summarised by area of the code.

The areas are named after the code they measure: each marker is built from the function or
class itself (its ``__qualname__`` and module), so renaming one breaks the benchmark at once
instead of silently moving its samples to "other".
"""

from __future__ import annotations

import collections
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def py_spy() -> Path | None:
    """py-spy next to this Python (``pip install py-spy``), if installed."""
    path = Path(sys.executable).parent / "py-spy"
    return path if path.exists() else None


_STDLIB = re.compile(r"/lib/python3\.[0-9]+/")


def frame_of(function: Callable[..., Any]) -> str:
    """How a sample's frame names ``function`` once shortened (:func:`short_frame`):
    ``HttpClient.send (flowhook/webhooks/client.py)``."""
    module = function.__module__.replace(".", "/")
    return f"{function.__qualname__} ({module}.py)"


def methods_of(cls: type) -> str:
    """The prefix of every method of ``cls`` in a frame: ``DeliveryEngine.``."""
    return f"{cls.__qualname__}."


def area_table() -> list[tuple[str, tuple[str, ...]]]:
    """Where a sample's CPU goes: the first area of this list with a frame in the stack."""
    from concurrent.futures import thread

    import aiohttp
    import uvicorn
    from uvicorn.protocols.http import httptools_impl

    from flowhook.engine import interpreter
    from flowhook.store.commit import GroupCommitter
    from flowhook.webhooks.client import HttpClient
    from flowhook.webhooks.delivery import DeliveryEngine
    from flowhook.webhooks.outbox import FlowCompleteHook
    from flowhook.webhooks.wire import Connection
    from flowhook.worker.runner import ExecutionRunner

    return [
        (
            # the responses are parsed in the connections' protocol callbacks, called by the
            # loop: every frame of their module counts ("Connection." alone would also
            # match SQLAlchemy's)
            "outgoing HTTP (aiohttp client: widget call + delivery)",
            (frame_of(HttpClient.send), f"({Connection.__module__.replace('.', '/')}.py)"),
        ),
        (
            "group-commit writer thread (statements, state JSON)",
            (frame_of(GroupCommitter._run),),
        ),
        ("reads in the thread pool (store.read)", (frame_of(thread._worker),)),
        (
            "flow-complete hook (payload, request, outbox row)",
            (frame_of(FlowCompleteHook.__call__),),
        ),
        ("delivery engine (signing, attempt log)", (methods_of(DeliveryEngine),)),
        ("interpreter + widgets", (frame_of(interpreter.advance),)),
        ("execution runner (accept, checkpoint, finish)", (methods_of(ExecutionRunner),)),
        (
            "trigger endpoint (uvicorn request cycle, auth, validation, accept)",
            (
                frame_of(httptools_impl.RequestResponseCycle.run_asgi),
                methods_of(httptools_impl.HttpToolsProtocol),
            ),
        ),
        ("aiohttp/uvicorn protocol callbacks", (f"{aiohttp.__name__}/", f"{uvicorn.__name__}/")),
    ]


def area_of(frames: list[str], table: list[tuple[str, tuple[str, ...]]]) -> str:
    for name, markers in table:
        if any(m in frame for frame in frames for m in markers):
            return name
    return "event loop and other"


def summarise_profile(extra: dict[str, str], top: int = 15) -> dict[str, Any]:
    """A py-spy raw profile in three views: CPU by area of the code, the flowhook functions
    with most time inside them, and the functions with most time of their own."""
    out = Path(extra["output"])
    summary: dict[str, Any] = {"profiler": extra["profiler"], "file": str(out)}
    if extra["profiler"] != "py-spy" or not out.exists():
        return summary
    own: collections.Counter[str] = collections.Counter()
    inside: collections.Counter[str] = collections.Counter()
    areas: collections.Counter[str] = collections.Counter()
    table = area_table()
    total = 0
    for line in out.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        samples = int(n)
        total += samples
        frames = [short_frame(f) for f in stack.split(";")]
        own[frames[-1]] += samples
        areas[area_of(frames, table)] += samples
        for frame in set(frames):
            if "flowhook/" in frame:
                inside[frame] += samples
    if not total:
        return summary

    def share(counter: collections.Counter[str]) -> list[list[Any]]:
        return [[name, round(n / total * 100, 1)] for name, n in counter.most_common(top)]

    summary.update(
        {
            "samples": total,
            "areas_pct": share(areas),
            "flowhook_inclusive_pct": share(inside),
            "own_pct": share(own),
        }
    )
    what = extra.get("what", "")
    summary["process"] = what
    text = [f"# py-spy --gil, {total} samples of {what} at C=10", ""]
    for title, key in (
        ("CPU by area (% of samples)", "areas_pct"),
        ("flowhook functions, time inside (% of samples)", "flowhook_inclusive_pct"),
        ("own time (% of samples)", "own_pct"),
    ):
        text += [f"## {title}"] + [f"{pct:5.1f}  {name}" for name, pct in summary[key]] + [""]
    (out.parent / f"{out.stem}-top.txt").write_text("\n".join(text))
    return summary


def short_frame(frame: str) -> str:
    """``func (/…/src/pkg/module.py:12)`` → ``func (pkg/module.py)``: the module's path as
    its import name spells it (samples of a function merge; :func:`frame_of` matches)."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        stdlib = _STDLIB.search(path)  # /usr/lib/python3.11/concurrent/… → concurrent/…
        if stdlib:
            path = path[stdlib.end() :]
    return f"{name} ({path})" if path else name
