"""``python -m bench.trips``: statements and database round trips per flow of one mode,
counted without the clock (for A/B runs of a change on a shared machine).

Runs ``--flows`` flows of the reference scenario at ``--concurrency`` through a mode of
``bench.run`` (``pg1`` by default), with
- PostgreSQL's ``log_statement = 'all'``: every statement the server ran, by kind (BEGIN,
  COMMIT, INSERT …), counted from its log for the mode's database;
- ``strace`` attached to every flowhook process: each ``sendto`` on a socket to
  PostgreSQL is one request the process sent (a statement, or a pipeline of them) and
  waited for — the round trips.

Both slow the processes down, which changes the share of what runs per second rather
than per flow (claim polls, lease renewals): read the figures beside the idle rates
printed with them. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import time
from collections import Counter
from typing import Any

from bench.config import parse_args
from bench.loadgen import LoadGenerator
from bench.run import Bench
from bench.stub import Stub

_GOT = re.compile(r"= [1-9]\d*$")
_KIND = re.compile(r"(?:statement|execute [^:]*): \s*(\w+)", re.IGNORECASE)


async def measure(mode: str, flows: int, concurrency: int) -> dict[str, Any]:
    bench = Bench(parse_args(["--modes", mode, "--no-profile", "--open-rate", "0"]))
    async with Stub() as stub, LoadGenerator(stub.receipts) as load:
        bench.stub, bench.load = stub, load
        system = await bench.start_flowhook(mode)
        server = bench.postgres
        with server.connect() as conn:
            conn.execute("ALTER SYSTEM SET log_statement = 'all'")
            conn.execute("ALTER SYSTEM SET log_line_prefix = '%d '")
            conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)
        log = server.log_file
        log_start = log.stat().st_size
        port = str(server.port)
        pids = [p.pid for name in ("api", "worker") for p in system.groups.get(name, [])]
        traces = []
        for pid in pids:
            out = bench.tmp / f"strace-{pid}.txt"
            argv = ["strace", "-f", "-qq", "-e", "trace=sendto,recvfrom", "-yy", "-o", str(out)]
            proc = subprocess.Popen([*argv, "-p", str(pid)])
            traces.append((pid, out, proc))
        time.sleep(1.0)
        started = time.monotonic()
        window = await load.closed_loop(
            system.target,
            concurrency=concurrency,
            duration_s=3600,
            warmup_s=0,
            drain_s=30,
            max_flows=flows,
        )
        seconds = time.monotonic() - started
        for _pid, _out, proc in traces:
            proc.terminate()
            proc.wait()
        with server.connect() as conn:
            conn.execute("ALTER SYSTEM RESET log_statement")
            conn.execute("SELECT pg_reload_conf()")
        database = system.notes["database"].rsplit("/", 1)[-1]
        kinds: Counter[str] = Counter()
        with log.open(errors="replace") as text:
            text.seek(log_start)
            for line in text:
                if not line.startswith(database + " "):
                    continue
                found = _KIND.search(line)
                if found:
                    kinds[found.group(1).upper()] += 1
        trips: dict[str, int] = {}
        for pid, out, _proc in traces:
            lines = out.read_text(errors="replace").splitlines() if out.exists() else []
            # a read that got the server's answer (not EAGAIN): about one per wait for it
            trips[str(pid)] = sum(
                1
                for line in lines
                if "recvfrom(" in line and f":{port}]>" in line and _GOT.search(line)
            )
            trips["sends_" + str(pid)] = sum(
                1 for line in lines if "sendto(" in line and f":{port}]>" in line
            )
        await bench.stop_system(system)
        server.stop()
        shutil.rmtree(bench.tmp, ignore_errors=True)
    done = max(window.delivered, 1)
    return {
        "mode": mode,
        "flows": window.delivered,
        "lost": window.lost,
        "seconds": round(seconds, 1),
        "flows_per_s": round(window.delivered / seconds, 1),
        "statements_per_flow": round(sum(kinds.values()) / done, 2),
        "statements_by_kind_per_flow": {k: round(v / done, 3) for k, v in kinds.most_common()},
        "round_trips_per_flow": round(
            sum(v for k, v in trips.items() if not k.startswith("sends_")) / done, 2
        ),
        "round_trips_per_flow_by_process": {k: round(v / done, 2) for k, v in trips.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", default="pg1")
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    result = asyncio.run(measure(args.mode, args.flows, args.concurrency))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
