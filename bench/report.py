"""The results: the table printed at the end, its Markdown form for the docs, the JSON
files under ``bench/results/`` and the machine they were measured on."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sqlite3
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    return info


# the table -----------------------------------------------------------------------------
HEADER = (
    f"{'mode':<15} {'loop':<9} {'flows/s':>8} {'×ceil':>6} {'p50':>7} {'p95':>7} "
    f"{'p99 ms':>7} {'CPU s/1k':>8} {'pg s/1k':>7} {'busy%':>5} {'other%':>6} {'RSS MB':>7} "
    f"{'deliv/trig':>13}"
)


def format_row(p: dict[str, Any]) -> str:
    lat = p["latency_ms"] or {}
    loop = f"C={p['concurrency']}" if p["loop"] == "closed" else f"{p['rate']:.0f}/s"
    ratio = p.get("ratio_to_ceiling")
    pg = p.get("postgres_cpu_s_per_1000_flows")
    rss = max(p["peak_rss_mb"].values(), default=0.0)
    return (
        f"{p['mode']:<15} {loop:<9} {p['flows_per_s']:>8.0f} "
        f"{(f'{ratio:.2f}' if ratio is not None else '-'):>6} "
        f"{lat.get('p50', 0):>7.1f} {lat.get('p95', 0):>7.1f} {lat.get('p99', 0):>7.1f} "
        f"{p['cpu_s_per_1000_flows']:>8.3f} {(f'{pg:.3f}' if pg is not None else '-'):>7} "
        f"{p['machine_busy_pct']:>5.0f} {p.get('other_cpu_pct', 0):>6.0f} {rss:>7.1f} "
        f"{p['delivered']:>6}/{p['triggered']:<6}"
    )


def table(result: dict[str, Any]) -> str:
    lines = [HEADER, "-" * len(HEADER)]
    lines += [format_row(p) for p in result["points"]]
    return "\n".join(lines)


def markdown_table(result: dict[str, Any]) -> str:
    """The same table in Markdown, for docs/performance.md and the README."""
    head = (
        "| mode | load | flows/s | × ceiling | p50 ms | p95 ms | p99 ms | CPU s / 1k flows "
        "| CPU × ceiling | PG CPU s / 1k | machine busy | of it not ours "
        "| peak RSS MB (max process) | delivered / triggered |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in result["points"]:
        lat = p["latency_ms"] or {}
        load = f"C={p['concurrency']}" if p["loop"] == "closed" else f"open {p['rate']:.0f}/s"
        if p.get("skipped"):
            load += f" ({p['skipped']:,} skipped)"
        ratio = p.get("ratio_to_ceiling")
        pg = p.get("postgres_cpu_s_per_1000_flows")
        eff = p.get("cpu_ratio_to_ceiling")
        lines.append(
            f"| {p['mode']} | {load} | {p['flows_per_s']:,.0f} | "
            f"{f'{ratio:.2f}' if ratio is not None else '–'} | {lat.get('p50', 0):.1f} | "
            f"{lat.get('p95', 0):.1f} | {lat.get('p99', 0):.1f} | "
            f"{p['cpu_s_per_1000_flows']:.2f} | {f'{eff:.2f}' if eff is not None else '–'} | "
            f"{f'{pg:.2f}' if pg is not None else '–'} | "
            f"{p['machine_busy_pct']:.0f} % | {p.get('other_cpu_pct', 0):.0f} % | "
            f"{max(p['peak_rss_mb'].values(), default=0):.0f} | "
            f"{p['delivered']:,} / {p['triggered']:,} |"
        )
    return "\n".join(lines)


# what the processes said about themselves ----------------------------------------------
INTERNALS_HEAD = [
    "mode",
    "load",
    "writes/flow",
    "commits/flow",
    "rows/commit mean",
    "p50",
    "p99",
    "commit ms p50",
    "p99",
    "queue wait ms p50",
    "p99",
    "hand-back ms p99",
    "exec claims/s",
    "rows/claim",
    "deliv claims/s",
    "rows/claim",
]


def internals_rows(result: dict[str, Any]) -> list[list[str]]:
    """Per flowhook point: the group commit's batches (rows per commit), its commit latency,
    the queue wait (a write's wait for its batch to begin), the writer → event loop hand-back
    and the claim loops' cadence (``bench/internals.py``), all processes together."""
    rows: list[list[str]] = []
    for p in result["points"]:
        got = p.get("internals")
        if not got:
            continue
        load = f"C={p['concurrency']}" if p["loop"] == "closed" else f"open {p['rate']:.0f}/s"
        size, commit = got["rows_per_commit"], got["commit_ms"]
        wait, back = got["queue_wait_ms"], got["handback_ms"]
        rows.append(
            [
                p["mode"],
                load,
                _num(got.get("writes_per_flow")),
                _num(got.get("commits_per_flow")),
                _num(size.get("mean")),
                str(size.get("p50", "–")),
                str(size.get("p99", "–")),
                _num(commit.get("p50_ms")),
                _num(commit.get("p99_ms")),
                _num(wait.get("p50_ms")),
                _num(wait.get("p99_ms")),
                _num(back.get("p99_ms")),
                _num(got.get("executions_claims_per_s"), 1),
                _num(got.get("executions_rows_per_claim")),
                _num(got.get("deliveries_claims_per_s"), 1),
                _num(got.get("deliveries_rows_per_claim")),
            ]
        )
    return rows


def internals_table(result: dict[str, Any], markdown: bool = False) -> str:
    rows = internals_rows(result)
    if not rows:
        return ""
    title = (
        "group commit and claims, all flowhook processes of the point (ms: bucket upper edges,"
        " 19 % steps):"
    )
    if markdown:
        lines = [title, "", "| " + " | ".join(INTERNALS_HEAD) + " |", "|---|---|" + "---:|" * 14]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(c) for c in col) for col in zip(INTERNALS_HEAD, *rows, strict=True)]
    lines = [title, "  ".join(h.rjust(w) for h, w in zip(INTERNALS_HEAD, widths, strict=True))]
    return "\n".join(
        lines + ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    )


# flowhook beside its peers ---------------------------------------------------------------
def peer_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Per flowhook mode, peer and concurrency: both as a ratio of the ceiling, flowhook ÷
    the peer (flows/s, and CPU per flow), and both p99s. Closed-loop points only."""
    peers = [n for n, info in (result.get("peers") or {}).items() if not info.get("skipped")]
    closed = [p for p in result["points"] if p["loop"] == "closed"]
    rows: list[dict[str, Any]] = []
    for peer in peers:
        theirs = {p["concurrency"]: p for p in closed if p["mode"] == peer}
        for ours in closed:
            mode = ours["mode"]
            if mode == "ceiling" or mode in peers or "+" in mode:
                continue
            other = theirs.get(ours["concurrency"])
            if other is None:
                continue
            rows.append(
                {
                    "mode": mode,
                    "peer": peer,
                    "concurrency": ours["concurrency"],
                    "flows_per_s": ours["flows_per_s"],
                    "peer_flows_per_s": other["flows_per_s"],
                    "ratio_to_ceiling": ours.get("ratio_to_ceiling"),
                    "peer_ratio_to_ceiling": other.get("ratio_to_ceiling"),
                    "ratio_to_peer": (
                        round(ours["flows_per_s"] / other["flows_per_s"], 3)
                        if other["flows_per_s"]
                        else None
                    ),
                    "cpu_per_flow_to_peer": (
                        round(ours["cpu_s_per_1000_flows"] / other["cpu_s_per_1000_flows"], 3)
                        if other["cpu_s_per_1000_flows"]
                        else None
                    ),
                    "p99_ms": (ours["latency_ms"] or {}).get("p99"),
                    "peer_p99_ms": (other["latency_ms"] or {}).get("p99"),
                }
            )
    return rows


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def peer_table(result: dict[str, Any], markdown: bool = False) -> str:
    """flowhook beside each peer; a line per skipped peer; empty without peers."""
    lines: list[str] = []
    for peer, info in (result.get("peers") or {}).items():
        if info.get("skipped"):
            lines.append(f"{peer}: SKIPPED: {info['skipped']}")
        else:
            lines.append(
                f"{peer} {info.get('node_red', '?')} on Node {info.get('node', '?')} "
                "(not durable: keeps nothing on disk) beside flowhook, same run:"
            )
    rows = peer_rows(result)
    if not rows:
        return "\n".join(lines)
    head = [
        "mode",
        "peer",
        "load",
        "flows/s",
        "peer flows/s",
        "× ceiling",
        "peer × ceiling",
        "÷ peer",
        "CPU/flow ÷ peer",
        "p99 ms",
        "peer p99 ms",
    ]
    body = [
        [
            r["mode"],
            r["peer"],
            f"C={r['concurrency']}",
            _num(r["flows_per_s"], 0),
            _num(r["peer_flows_per_s"], 0),
            _num(r["ratio_to_ceiling"]),
            _num(r["peer_ratio_to_ceiling"]),
            _num(r["ratio_to_peer"]),
            _num(r["cpu_per_flow_to_peer"]),
            _num(r["p99_ms"], 1),
            _num(r["peer_p99_ms"], 1),
        ]
        for r in rows
    ]
    if markdown:
        lines += ["", "| " + " | ".join(head) + " |", "|---|---|---|" + "---:|" * 8]
        lines += ["| " + " | ".join(row) + " |" for row in body]
    else:
        widths = [max(len(str(c)) for c in col) for col in zip(head, *body, strict=True)]
        lines.append("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)))
        lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(lines)


def save(result: dict[str, Any], results: Path) -> Path:
    results.mkdir(parents=True, exist_ok=True)
    stamp = result["started_at"].replace(":", "").replace("-", "").replace("+0000", "Z")
    path = results / f"{stamp}.json"
    text = json.dumps(result, indent=2) + "\n"
    path.write_text(text)
    (results / "latest.json").write_text(text)
    beside = peer_table(result, markdown=True)
    inside = internals_table(result, markdown=True)
    md = markdown_table(result) + ("\n\n" + inside if inside else "")
    md += "\n\n" + beside if beside else ""
    (results / "latest.md").write_text(md + "\n")
    return path
