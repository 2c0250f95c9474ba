"""``python -m bench.instructions`` (``make bench-instructions``): instructions per flow of
the server process, counted by valgrind's callgrind, on the reference scenario.

Whole-bench CPU per flow moves by ±10–15 % on a shared machine; an instruction count does
not depend on what else runs. One ``flowhook serve`` (API and worker in one process, SQLite,
the environment and set-up of ``bench.run``'s ``sqlite`` mode) runs under
``valgrind --tool=callgrind``; the stub, the receiver and the closed-loop load generator of
``bench.run`` run here, outside valgrind. Per concurrency: ``--warmup`` flows, a quiet
``--settle``, ``callgrind_control --zero``, ``--flows`` flows, the same quiet, then
``callgrind_control --dump``: the dump holds the server's instructions (all its threads)
for those flows only, start-up and warm-up excluded. An idle stretch is counted last, so
that what the quiet seconds add to each window is known.

To compare two commits, run it with ``PYTHONPATH=<tree>/src`` (the server is started with
``sys.executable`` and the environment of this process); the JSON and the table say which
``flowhook`` the server imported and at which commit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import callgrind, procs
from bench.internals import Readings
from bench.internals import summarise as summarise_internals
from bench.loadgen import LoadGenerator, Target, Window
from bench.run import create_account, flowhook_argv, flowhook_env, new_secret_key, wait_stats
from bench.seed import configure
from bench.stub import Stub

RESULTS = Path("/tmp/flowhook-instructions")
TIMERS_S = 600.0
"""Every time-driven interval of the server (claim polls, cache lifetimes, the health
refresh, retention) under callgrind, unless ``--native-timers``. Valgrind runs the server
some 50 times slower, so at flowhook's defaults (a poll every 0.2 s, a 2 s cache) each flow
would carry 50 times the polls and cache misses it carries natively, and their number would
follow the wall time, which depends on the machine's load. Natively they are well under 1 %
of a flow's cost; stretched, they leave the count and the count stays put."""
TIMER_SETTINGS = (
    "FLOWHOOK_POLL_INTERVAL_S",
    "FLOWHOOK_CACHE_TTL_S",
    "FLOWHOOK_WEBHOOK_HEALTH_REFRESH_S",
    "FLOWHOOK_RETENTION_INTERVAL_S",
)
HASH_SEED = "0"
"""``PYTHONHASHSEED`` of the server: str hashes, hence dict and set layouts, are the same in
every run, so the count does not move with them."""


@dataclass
class Config:
    """The command line of one run."""

    concurrency: list[int]
    warmup: int
    flows: int
    settle_s: float
    idle_s: float
    top: int
    results: Path
    keep: bool
    flow_timeout_s: float
    native_timers: bool = False


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m bench.instructions",
        description="instructions per flow of flowhook serve (SQLite) under callgrind",
    )
    parser.add_argument("--concurrency", default="1", help="closed-loop concurrencies (1)")
    parser.add_argument("--warmup", type=int, default=200, help="flows before counting (200)")
    parser.add_argument("--flows", type=int, default=500, help="flows counted (500)")
    parser.add_argument(
        "--settle", type=float, default=2.0, help="quiet seconds before the zero and the dump"
    )
    parser.add_argument(
        "--idle", type=float, default=10.0, help="seconds of an idle count at the end (0: none)"
    )
    parser.add_argument("--top", type=int, default=25, help="functions listed (25)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--flow-timeout", type=float, default=600.0, help="seconds one flow may take"
    )
    parser.add_argument(
        "--native-timers",
        action="store_true",
        help=f"keep flowhook's polls and cache lifetimes (default: all {TIMERS_S:.0f} s)",
    )
    args = parser.parse_args(argv)
    return Config(
        concurrency=[int(c) for c in args.concurrency.split(",") if c.strip()],
        warmup=args.warmup,
        flows=args.flows,
        settle_s=args.settle,
        idle_s=args.idle,
        top=args.top,
        results=args.results,
        keep=args.keep,
        flow_timeout_s=args.flow_timeout,
        native_timers=args.native_timers,
    )


# the server under callgrind ------------------------------------------------------------
def valgrind_argv(dumps: Path, argv: list[str]) -> list[str]:
    """``argv`` under callgrind, its dumps in ``dumps`` (numbered per pid)."""
    return [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={dumps}/callgrind.out.%p",
        *argv,
    ]


def control(pid: int, command: str) -> None:
    """``callgrind_control --zero`` or ``--dump`` (it exits 0 even when it finds nothing)."""
    done = subprocess.run(
        ["callgrind_control", command, str(pid)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    said = done.stdout + done.stderr
    if done.returncode != 0 or "Error" in said:
        raise RuntimeError(f"callgrind_control {command} {pid}: {said.strip()}")


def dump_files(dumps: Path, pid: int) -> list[Path]:
    """The numbered dumps of a process (``callgrind.out.<pid>.<n>``), oldest first."""
    found = dumps.glob(f"callgrind.out.{pid}.*")
    return sorted(found, key=lambda p: int(p.name.rsplit(".", 1)[1]))


async def dump(proc: procs.Process, dumps: Path, timeout: float = 120.0) -> callgrind.Dump:
    """Ask for a dump and read it once it is written to its end."""
    before = len(dump_files(dumps, proc.pid))
    await asyncio.to_thread(control, proc.pid, "--dump")
    deadline = time.monotonic() + timeout
    while True:
        files = dump_files(dumps, proc.pid)
        if len(files) > before and callgrind.complete(files[-1]):
            return callgrind.parse(files[-1])
        if not proc.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"no dump from {proc.pid}:\n{proc.tail()}")
        await asyncio.sleep(0.1)


def imported_flowhook(env: dict[str, str]) -> dict[str, str]:
    """Which ``flowhook`` a process started like the server imports, and its tree's commit
    (``+dirty`` when it has changes): the check that ``PYTHONPATH`` chose the tree."""
    probe = "import flowhook; print(flowhook.__file__)"
    found = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    package = Path(found.stdout.strip()).parent
    info = {"file": str(package)}
    git = ["git", "-C", str(package)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no", "--", "."],
            capture_output=True,
            text=True,
        ).stdout.strip()
        info["commit"] = head.stdout.strip() + ("+dirty" if dirty else "")
        # the last commit that changed the package: two trees with the same code show it
        last = [*git, "log", "-1", "--format=%h", "--", "."]
        info["code_commit"] = subprocess.run(last, capture_output=True, text=True).stdout.strip()
    return info


def describe(flowhook: dict[str, str]) -> str:
    """One line: where the server's flowhook came from."""
    if "commit" not in flowhook:
        return f"{flowhook['file']} (not in git)"
    return f"{flowhook['file']} (HEAD {flowhook['commit']}, code of {flowhook['code_commit']})"


def tool_version(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


# one run -------------------------------------------------------------------------------
class Counter:
    """One server under callgrind, counted at each concurrency in turn, then idle."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.tmp = Path(tempfile.mkdtemp(prefix="flowhook-instructions-"))
        self.dumps = self.tmp / "dumps"
        self.dumps.mkdir()

    async def run(self) -> dict[str, Any]:
        started = datetime.now(UTC)
        data_dir = self.tmp / "sqlite"
        data_dir.mkdir()
        env = flowhook_env(f"sqlite:///{data_dir / 'flowhook.db'}", data_dir, new_secret_key())
        env["PYTHONHASHSEED"] = HASH_SEED
        timers = {} if self.config.native_timers else dict.fromkeys(TIMER_SETTINGS, str(TIMERS_S))
        env.update(timers)
        # compiled modules in a cache of this run's own, filled by a native start below, so
        # that the server under valgrind does not compile every module it imports
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(self.tmp / "pycache")
        self.stats = data_dir / "stats"  # the group commit's figures, as in bench.run
        env["FLOWHOOK_STATS_DIR"] = str(self.stats)
        flowhook = imported_flowhook(env)
        print(f"flowhook: {describe(flowhook)}", flush=True)
        _account, api_key = await asyncio.to_thread(create_account, env)
        points: list[dict[str, Any]] = []
        idle: dict[str, Any] = {}
        timeout = self.config.flow_timeout_s
        async with Stub() as stub, LoadGenerator(stub.receipts, flow_timeout_s=timeout) as load:
            port = procs.free_port()
            argv = flowhook_argv("serve", "--port", str(port), "--processes", "1")
            server_env = {**env, "FLOWHOOK_PORT": str(port)}
            await asyncio.to_thread(self.compile_modules, argv, server_env, port)
            server = procs.start("serve", valgrind_argv(self.dumps, argv), server_env, self.tmp)
            try:
                begun = time.perf_counter()
                await asyncio.to_thread(
                    procs.wait_http, f"http://127.0.0.1:{port}/healthz", server, 600.0
                )
                await wait_stats(self.stats, {"api": [server]}, timeout=600.0)
                print(f"server up under callgrind in {time.perf_counter() - begun:.0f} s")
                api = f"http://127.0.0.1:{port}"
                flow_id = await configure(api, api_key, stub.api_url, stub.hook_url)
                target = Target([f"{api}/v1/flows/{flow_id}/executions"], api_key)
                for concurrency in self.config.concurrency:
                    points.append(await self.point(load, target, server, concurrency))
                if self.config.idle_s > 0:
                    idle = await self.idle(server)
                    for point in points:
                        # what the same wall time costs with no flows: timers, not flows
                        busy = idle["instructions_per_s"] * point["wall_s"]
                        point["idle_share_pct"] = round(busy / point["instructions"] * 100, 2)
            finally:
                await asyncio.to_thread(procs.stop, server, 120.0)
                if self.config.keep:
                    print(f"kept: {self.tmp}")
                else:
                    shutil.rmtree(self.tmp, ignore_errors=True)
        return {
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "flowhook": flowhook,
            "python": platform.python_version(),
            "valgrind": tool_version(["valgrind", "--version"]),
            "server_env": {
                "PYTHONHASHSEED": HASH_SEED,
                "PYTHONMALLOC": env.get("PYTHONMALLOC"),
                **timers,
            },
            "config": {
                "concurrency": self.config.concurrency,
                "warmup": self.config.warmup,
                "flows": self.config.flows,
                "settle_s": self.config.settle_s,
            },
            "points": points,
            "idle": idle,
        }

    def compile_modules(self, argv: list[str], env: dict[str, str], port: int) -> None:
        """Start and stop the server once without valgrind: what it imports is compiled
        into the run's bytecode cache at native speed."""
        # no stats file: the bench signals every process that has one
        quiet = {k: v for k, v in env.items() if k != "FLOWHOOK_STATS_DIR"}
        native = procs.start("serve-native", argv, quiet, self.tmp)
        try:
            procs.wait_http(f"http://127.0.0.1:{port}/healthz", native, 120.0)
        finally:
            procs.stop(native)

    async def flows(self, load: LoadGenerator, target: Target, c: int, n: int) -> Window:
        window = await load.closed_loop(
            target,
            concurrency=c,
            duration_s=0.0,
            warmup_s=0.0,
            drain_s=self.config.flow_timeout_s,
            max_flows=n,
        )
        if window.lost or window.trigger_errors:
            raise RuntimeError(
                f"C={c}: {window.lost} lost, {window.trigger_errors} trigger errors: "
                f"{window.error_samples}"
            )
        return window

    async def point(
        self, load: LoadGenerator, target: Target, server: procs.Process, concurrency: int
    ) -> dict[str, Any]:
        config = self.config
        print(f"C={concurrency}: {config.warmup} warm-up flows", flush=True)
        await self.flows(load, target, concurrency, config.warmup)
        await asyncio.sleep(config.settle_s)
        readings = Readings(self.stats)
        readings.mark("start")  # SIGUSR1: the server appends its writes and commits so far
        await asyncio.sleep(0.5)  # the reading's own instructions stay out of the count
        await asyncio.to_thread(control, server.pid, "--zero")
        print(f"C={concurrency}: {config.flows} counted flows", flush=True)
        begun = time.perf_counter()
        window = await self.flows(load, target, concurrency, config.flows)
        await asyncio.sleep(config.settle_s)
        counted = await dump(server, self.dumps)
        wall = time.perf_counter() - begun
        readings.mark("end")
        point = summarise(counted, concurrency, window.delivered, wall, config.top)
        inside = summarise_internals(await readings.collect(timeout=60.0), window.delivered, 0)
        point["commits_per_flow"] = inside.get("commits_per_flow")
        point["writes_per_flow"] = inside.get("writes_per_flow")
        return point

    async def idle(self, server: procs.Process) -> dict[str, Any]:
        """What the server does with no flows (claim polls, timers), per second: the share
        of a window that is its quiet seconds rather than its flows."""
        await asyncio.to_thread(control, server.pid, "--zero")
        begun = time.perf_counter()
        await asyncio.sleep(self.config.idle_s)
        counted = await dump(server, self.dumps)
        seconds = time.perf_counter() - begun
        return {
            "seconds": round(seconds, 1),
            "instructions": counted.total,
            "instructions_per_s": round(counted.total / seconds),
        }


def summarise(
    counted: callgrind.Dump, concurrency: int, flows: int, wall_s: float, top: int
) -> dict[str, Any]:
    """A point's figures: the total per flow, then by shared object and by function."""
    per_flow = counted.total / flows
    objects = sorted(counted.objects.items(), key=lambda item: -item[1])
    groups: dict[str, int] = {}
    for path, ir in objects:
        group = callgrind.group_of(callgrind.object_label(path))
        groups[group] = groups.get(group, 0) + ir
    return {
        "concurrency": concurrency,
        "flows": flows,
        "wall_s": round(wall_s, 1),
        "instructions": counted.total,
        "instructions_per_flow": round(per_flow),
        "groups": [
            {
                "group": group,
                "per_flow": round(ir / flows),
                "share_pct": round(ir / counted.total * 100, 2),
            }
            for group, ir in sorted(groups.items(), key=lambda item: -item[1])
        ],
        "objects": [
            {
                "object": path,
                "label": callgrind.object_label(path),
                "per_flow": round(ir / flows),
                "share_pct": round(ir / counted.total * 100, 2),
            }
            for path, ir in objects
        ],
        "functions": [
            {
                "function": fn,
                "object": callgrind.object_label(obj),
                "per_flow": round(ir / flows),
                "share_pct": round(ir / counted.total * 100, 2),
            }
            for obj, fn, ir in counted.top_functions(top)
        ],
    }


# output --------------------------------------------------------------------------------
def table(result: dict[str, Any], objects: int = 12) -> str:
    flowhook = result["flowhook"]
    lines = [f"flowhook {describe(flowhook)}"]
    for point in result["points"]:
        lines.append("")
        lines.append(
            f"C={point['concurrency']}: {point['instructions_per_flow']:,} instructions per "
            f"flow ({point['flows']} flows, {point['instructions']:,} in all, "
            f"{point['wall_s']} s under callgrind)"
        )
        if point.get("commits_per_flow") is not None:
            lines.append(
                f"  {point['writes_per_flow']} writes and {point['commits_per_flow']} group "
                "commits (transactions) per flow"
            )
        if "idle_share_pct" in point:
            lines.append(f"  of which idle timers, at the idle rate: {point['idle_share_pct']} %")
        lines.append(f"  {'per flow':>12}  {'share':>6}  group of shared objects")
        for row in point["groups"]:
            lines.append(f"  {row['per_flow']:>12,}  {row['share_pct']:5.1f}%  {row['group']}")
        lines.append(f"  {'per flow':>12}  {'share':>6}  shared object")
        for row in point["objects"][:objects]:
            lines.append(f"  {row['per_flow']:>12,}  {row['share_pct']:5.1f}%  {row['label']}")
        lines.append(f"  {'per flow':>12}  {'share':>6}  function (self)")
        for row in point["functions"]:
            name = f"{row['function']} [{row['object']}]"
            lines.append(f"  {row['per_flow']:>12,}  {row['share_pct']:5.1f}%  {name}")
    if result["idle"]:
        idle = result["idle"]
        lines.append("")
        lines.append(f"idle: {idle['instructions_per_s']:,} instructions per second")
    return "\n".join(lines)


def save(result: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = result["started_at"].replace(":", "").replace("-", "")[:15]
    path = folder / f"instructions-{stamp}.json"
    text = json.dumps(result, indent=2) + "\n"
    path.write_text(text)
    (folder / "instructions-latest.json").write_text(text)
    return path


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind (with callgrind_control) is not installed", file=sys.stderr)
        return 2
    result = asyncio.run(Counter(config).run())
    path = save(result, config.results)
    print()
    print(table(result))
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
