"""What flowhook's processes say about themselves over a window: the group commit's batches
and waits, and how often the claim loops ran.

Every flowhook process of a run gets ``FLOWHOOK_STATS_DIR``: it writes a first reading to
``<dir>/<pid>.jsonl`` once it is started and appends a reading on each SIGUSR1
(``Runtime.stats``: cumulative figures since start). At each edge of a window the bench
signals every process that has a file; the two readings of a window subtract into what
happened in it. Only processes with a file are signalled (SIGUSR1 would end one that has
no handler yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections import Counter
from pathlib import Path
from typing import Any

_BUCKETS_PER_OCTAVE = 4  # as flowhook.store.commit's Durations


class Readings:
    """The readings of one window, per process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.first_line: dict[int, int] = {}

    def mark(self, edge: str) -> None:
        """Called at each edge of the window (synchronously, from the load generator)."""
        for path in self.folder.glob("*.jsonl"):
            pid = int(path.stem)
            if edge == "start":
                self.first_line[pid] = _lines(path)
            elif pid not in self.first_line:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1)

    async def collect(self, timeout: float = 5.0) -> dict[int, tuple[dict[str, Any], ...]]:
        """(start, end) reading per process signalled at both edges."""
        out: dict[int, tuple[dict[str, Any], ...]] = {}
        deadline = asyncio.get_running_loop().time() + timeout
        for pid, first in self.first_line.items():
            path = self.folder / f"{pid}.jsonl"
            while True:
                lines = path.read_text().splitlines() if path.exists() else []
                if len(lines) >= first + 2:
                    out[pid] = (json.loads(lines[first]), json.loads(lines[first + 1]))
                    break
                if asyncio.get_running_loop().time() > deadline:
                    break
                await asyncio.sleep(0.02)
        return out


def _lines(path: Path) -> int:
    try:
        return len(path.read_text().splitlines())
    except OSError:
        return 0


# summaries --------------------------------------------------------------------------------
def _upper_ms(index: int) -> float:
    return float(2 ** (index / _BUCKETS_PER_OCTAVE)) / 1000


def _durations(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """Start/end readings of one ``Durations`` (per process) → count, mean, p50, p99 (ms;
    a percentile is its bucket's upper edge, 19 % steps)."""
    count = sum(end["count"] - start["count"] for start, end in pairs)
    if count <= 0:
        return {"count": 0}
    total = sum(end["total_s"] - start["total_s"] for start, end in pairs)
    buckets = [0] * len(pairs[0][0]["buckets"])
    for start, end in pairs:
        for i, (a, b) in enumerate(zip(start["buckets"], end["buckets"], strict=True)):
            buckets[i] += b - a

    def at(q: float) -> float:
        seen, rank = 0, q * count
        for i, n in enumerate(buckets):
            seen += n
            if seen >= rank and n:
                return round(_upper_ms(i), 3)
        return round(_upper_ms(len(buckets) - 1), 3)

    return {
        "count": count,
        "mean_ms": round(total / count * 1000, 3),
        "p50_ms": at(0.50),
        "p99_ms": at(0.99),
    }


def _sizes(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    sizes: Counter[int] = Counter()
    for start, end in pairs:
        for k, v in end.items():
            sizes[int(k)] += v - start.get(k, 0)
    commits = sum(sizes.values())
    if commits <= 0:
        return {"commits": 0}
    ordered = sorted(sizes.items())

    def at(q: float) -> int:
        seen = 0
        for size, n in ordered:
            seen += n
            if seen >= q * commits:
                return size
        return ordered[-1][0]

    writes = sum(size * n for size, n in ordered)
    return {
        "commits": commits,
        "mean": round(writes / commits, 2),
        "p50": at(0.50),
        "p99": at(0.99),
        "max": ordered[-1][0],
    }


def summarise(
    readings: dict[int, tuple[dict[str, Any], ...]], flows: int, seconds: float
) -> dict[str, Any]:
    """The window's figures for all processes together, and per process."""
    if not readings:
        return {}

    def part(pids: list[int]) -> dict[str, Any]:
        pairs = [readings[pid] for pid in pids]
        commit = [(s["commit"], e["commit"]) for s, e in pairs]
        out: dict[str, Any] = {
            "writes": sum(e["writes"] - s["writes"] for s, e in pairs),
            "transactions": sum(e["transactions"] - s["transactions"] for s, e in pairs),
            "rows_per_commit": _sizes([(s["batch_sizes"], e["batch_sizes"]) for s, e in commit]),
            "commit_ms": _durations([(s["commit"], e["commit"]) for s, e in commit]),
            "queue_wait_ms": _durations([(s["queue_wait"], e["queue_wait"]) for s, e in commit]),
            "handback_ms": _durations([(s["handback"], e["handback"]) for s, e in commit]),
        }
        for work in ("executions", "deliveries"):
            claims = sum(e[work]["claims"] - s[work]["claims"] for s, e in pairs)
            claimed = sum(e[work]["claimed"] - s[work]["claimed"] for s, e in pairs)
            here = sum(e[work]["started_here"] - s[work]["started_here"] for s, e in pairs)
            out[f"{work}_claims_per_s"] = round(claims / seconds, 1) if seconds else None
            out[f"{work}_rows_per_claim"] = round(claimed / claims, 2) if claims else 0.0
            out[f"{work}_claimed"] = claimed
            out[f"{work}_started_here"] = here
        if flows:
            out["writes_per_flow"] = round(out["writes"] / flows, 2)
            out["commits_per_flow"] = round(out["transactions"] / flows, 2)
        return out

    pids = sorted(readings)
    result = part(pids)
    if len(pids) > 1:
        result["per_process"] = {str(pid): part([pid]) for pid in pids}
    return result
