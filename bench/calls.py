"""``python -m bench.calls`` (``make bench-calls``): 1,000 concurrent simulated calls.

The system under test is one ``flowhook serve`` (API and worker in one process, SQLite)
started as a child process, so the CPU read from /proc is flowhook's alone. This process
rings ``--calls`` inbound calls on the voice simulator (``POST /v1/sim/calls``, at most
``--in-flight`` requests at once) into an IVR — answer, a menu whose caller presses a key
5 s after the answer, hangup — and waits until every execution has ended, reading the
executions table. Simulated time runs ``--time-scale`` times real time (0.1: the 5 s wait
takes 0.5 s), as in the tests.

It reports calls per second (calls ÷ wall time from the first ring to the last end), CPU
milliseconds per call (the server process's user + system CPU over that time ÷ calls),
and whether every call completed with its key: a lost call is a failed run (exit 1).
Results: ``bench/results/calls-latest.json`` (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench import procs
from bench.run import base_env, flowhook_argv, run_json

RESULTS = Path(__file__).resolve().parent / "results"
DID = "+912240001234"

IVR: dict[str, Any] = {
    "name": "bench_ivr",
    "type": "inbound",
    "dids": [DID],
    "entry": {"start": "answer"},
    "widgets": {
        "answer": {"type": "answer_call", "next": "menu"},
        "menu": {
            "type": "menu",
            "text": "Press 1 or 2",
            "options": {"1": "one", "2": "two"},
            "timeout_s": 600,
            "exits": {"1": "bye", "2": "bye"},
        },
        "bye": {"type": "hangup"},
    },
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.calls", description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--in-flight", type=int, default=50, help="API requests at once")
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after (s)")
    parser.add_argument("--out", type=Path, default=RESULTS / "calls-latest.json")
    return parser.parse_args(argv)


def statuses(db: Path) -> dict[str, int]:
    """Executions by status, read from the SQLite file (read-only, outside the server)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        rows = conn.execute("SELECT status, count(*) FROM executions GROUP BY status").fetchall()
    return {str(status): int(count) for status, count in rows}


def keys_pressed(db: Path) -> dict[str, int]:
    """How many calls recorded each key (from the legs' events)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        rows = conn.execute("SELECT events FROM calls").fetchall()
    found: dict[str, int] = {}
    for (events,) in rows:
        for event in json.loads(events):
            if event.get("kind") == "dtmf":
                found[event["key"]] = found.get(event["key"], 0) + 1
    return found


async def ring_all(api: str, key: str, calls: int, in_flight: int) -> None:
    gate = asyncio.Semaphore(in_flight)
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(f"{api}/v1/flows", json=IVR) as resp:
            if resp.status != 201:
                raise RuntimeError(f"creating the IVR: {resp.status} {await resp.text()}")

        async def ring(i: int) -> None:
            script = {"digits": [{"key": str(1 + i % 2), "after_ms": 5_000}]}
            body = {"cli": f"+91981{i:07d}", "dnis": DID, "script": script}
            async with gate, session.post(f"{api}/v1/sim/calls", json=body) as resp:
                if resp.status != 202:
                    raise RuntimeError(f"call {i}: {resp.status} {await resp.text()}")

        await asyncio.gather(*(ring(i) for i in range(calls)))


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    db = tmp / "flowhook.db"
    port = procs.free_port()
    env = base_env(
        {
            "FLOWHOOK_DATABASE_URL": f"sqlite:///{db}",
            "FLOWHOOK_DATA_DIR": str(tmp),
            "FLOWHOOK_HOST": "127.0.0.1",
            "FLOWHOOK_PORT": str(port),
            "FLOWHOOK_LOG_LEVEL": "warning",
            "FLOWHOOK_TIME_SCALE": str(args.time_scale),
        }
    )
    created = await asyncio.to_thread(run_json, flowhook_argv("account", "create", "calls"), env)
    server = procs.start("calls-api", flowhook_argv("serve", "--port", str(port)), env, tmp)
    try:
        api = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(procs.wait_http, f"{api}/healthz", server)
        cpu_before = procs.cpu_seconds(server.pid) or 0.0
        started = time.monotonic()
        await ring_all(api, created["api_key"], args.calls, args.in_flight)
        rung = time.monotonic() - started
        deadline = started + args.timeout
        while True:
            counts = await asyncio.to_thread(statuses, db)
            if counts.get("COMPLETED", 0) + counts.get("FAILED", 0) >= args.calls:
                break
            if time.monotonic() > deadline or not server.alive():
                raise RuntimeError(f"calls not ended: {counts}\n{server.tail()}")
            await asyncio.sleep(0.2)
        elapsed = time.monotonic() - started
        cpu = (procs.cpu_seconds(server.pid) or 0.0) - cpu_before
        keys = await asyncio.to_thread(keys_pressed, db)
    finally:
        procs.stop(server)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "calls": args.calls,
        "in_flight": args.in_flight,
        "time_scale": args.time_scale,
        "rung_s": round(rung, 2),
        "elapsed_s": round(elapsed, 2),
        "calls_per_s": round(args.calls / elapsed, 1),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_call": round(cpu / args.calls * 1000, 2),
        "statuses": counts,
        "keys": keys,
        "lost": args.calls - counts.get("COMPLETED", 0),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="flowhook-calls-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"{result['calls']} simulated calls ({result['in_flight']} requests in flight, "
        f"time scale {result['time_scale']}): {result['calls_per_s']} calls/s, "
        f"{result['cpu_ms_per_call']} ms CPU per call; statuses {result['statuses']}, "
        f"keys {result['keys']}, lost {result['lost']}"
    )
    return 0 if result["lost"] == 0 and sum(result["keys"].values()) == result["calls"] else 1


if __name__ == "__main__":
    sys.exit(main())
