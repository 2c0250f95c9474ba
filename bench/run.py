"""``python -m bench.run`` (``make bench``): the reference scenario in every mode, against
its ceiling, in one invocation.

This process is the outside world: it hosts the stub API, the receiver and the load
generator (``bench.stub``, ``bench.loadgen``) and starts the system under test as child
processes, so that the CPU and memory read from /proc are the system's alone.

Modes (``--modes``):

``ceiling``   the bare aiohttp program (``bench.ceiling``); always measured first
``sqlite``    one ``flowhook serve`` with its in-process worker on a SQLite file
``sqlite2``   ``flowhook serve --processes 2``: two server processes on one port (the
              kernel spreads connections) and one SQLite file
``pgN``       PostgreSQL: one ``flowhook serve --no-worker`` and N ``flowhook worker``
``M+backlog`` mode M with ``--backlog`` pending deliveries to a dead receiver inserted first
``M+profile``  mode M at C=10 with py-spy attached (``--profile``; sqlite unless
              ``--profile-mode``); without py-spy, the API process runs under pyinstrument

Results: ``bench/results/<timestamp>.json`` and ``bench/results/latest.json``, and a table
on stdout with every figure as a ratio of the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench import procs
from bench.loadgen import LoadGenerator, Target, Window
from bench.scenario import flow_document
from bench.stub import Stub

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
ALL_MODES = ["sqlite", "sqlite2", "pg1", "pg2", "pg4"]
API_KEY_CEILING = "ceiling-key"


# configuration -------------------------------------------------------------------------
@dataclass
class Config:
    duration_s: float
    warmup_s: float
    drain_s: float
    concurrency: list[int]
    modes: list[str]
    open_rate: float | None
    """Flows/s of the open-loop point of each mode; None: half the ceiling's C=10."""
    backlog: int
    profile: bool
    profile_concurrency: int
    results: Path
    quick: bool
    keep: bool
    flows: int | None = None
    """Bound each closed-loop point by this many flows instead of by time (smoke tests)."""
    poll_interval_s: float | None = None
    """``FLOWHOOK_POLL_INTERVAL_S`` of the flowhook processes; None: flowhook's default."""
    profile_mode: str = "sqlite"


def parse_args(argv: list[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="flowhook's reference-scenario benchmark"
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run (2 s points)")
    parser.add_argument("--duration", type=float, help="seconds per measured point (10)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per point (2)")
    parser.add_argument(
        "--drain", type=float, default=15.0, help="give up on stragglers after this long quiet"
    )
    parser.add_argument("--concurrency", default="1,10,100", help="closed-loop concurrencies")
    parser.add_argument(
        "--modes", default=",".join(ALL_MODES), help=f"some of {ALL_MODES}, M+backlog"
    )
    parser.add_argument(
        "--open-rate",
        default="auto",
        help="flows/s of an open-loop point per mode; 'auto' = half the ceiling at C=10; 0 = none",
    )
    parser.add_argument(
        "--backlog",
        type=int,
        default=0,
        help="N pending deliveries to a dead receiver before measuring (adds sqlite+backlog)",
    )
    parser.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="profile one mode at C=10 (default: on, off with --quick)",
    )
    parser.add_argument(
        "--profile-mode",
        default="sqlite",
        choices=ALL_MODES,
        help="the mode to profile; in pgN modes the first worker is profiled",
    )
    parser.add_argument(
        "--flows", type=int, help="bound each closed-loop point by a flow count, not by time"
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        help="FLOWHOOK_POLL_INTERVAL_S for flowhook (how often idle workers look for work)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)

    quick = bool(args.quick)
    duration = args.duration if args.duration is not None else (2.0 if quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (0.5 if quick else 2.0)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        base = mode.split("+")[0]
        if base not in ALL_MODES:
            parser.error(f"unknown mode {mode!r}: use {ALL_MODES}, optionally with +backlog")
    if args.backlog and not any(m.endswith("+backlog") for m in modes):
        at = modes.index("sqlite") + 1 if "sqlite" in modes else 0
        modes.insert(at, "sqlite+backlog")
        if "sqlite" not in modes:
            modes.insert(0, "sqlite")
    profile = (not quick) if args.profile is None else bool(args.profile)
    if profile:
        base = args.profile_mode
        modes.insert(modes.index(base) + 1 if base in modes else len(modes), f"{base}+profile")
    rate: float | None = None if args.open_rate == "auto" else float(args.open_rate)
    return Config(
        duration_s=duration,
        warmup_s=warmup,
        drain_s=args.drain,
        concurrency=[int(c) for c in args.concurrency.split(",") if c.strip()],
        modes=modes,
        open_rate=rate,
        backlog=args.backlog or 100_000,
        profile=profile,
        profile_concurrency=10,
        profile_mode=args.profile_mode,
        results=args.results,
        quick=quick,
        keep=args.keep,
        flows=args.flows,
        poll_interval_s=args.poll_interval,
    )


# one system under test -----------------------------------------------------------------
@dataclass
class System:
    """The processes of one mode and where to trigger them."""

    mode: str
    target: Target
    groups: dict[str, list[procs.Process]] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def pids(self) -> dict[str, list[int]]:
        out = {name: [p.pid for p in group] for name, group in self.groups.items()}
        # `serve --processes N` starts its copies itself: they count with the API
        out["api"] = [pid for api in out.get("api", []) for pid in (api, *procs.descendants(api))]
        if "postgres" in self.notes:
            postmaster = int(self.notes["postgres"])
            out["postgres"] = [postmaster, *procs.descendants(postmaster)]
        return out

    def flowhook(self) -> list[procs.Process]:
        """The processes of the system under test (not the database, not a profiler)."""
        return [
            p
            for name, group in self.groups.items()
            if name not in ("postgres", "profiler")
            for p in group
        ]


def flowhook_argv(*args: str) -> list[str]:
    """The CLI as a child process (the console script may not be on PATH)."""
    return [sys.executable, "-c", "from flowhook.cli import app; app()", *args]


def base_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWHOOK_")}
    env.update(extra)
    return env


class Bench:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.tmp = Path(tempfile.mkdtemp(prefix="flowhook-bench-"))
        self.stub: Stub | None = None
        self.load: LoadGenerator | None = None
        self.postgres: Any = None
        self.points: list[dict[str, Any]] = []
        self.mode_info: dict[str, dict[str, Any]] = {}
        self.ceiling: dict[int, float] = {}
        self.ceiling_cpu: dict[int, float] = {}
        self.reference: dict[tuple[str, int], float] = {}
        self.profile: dict[str, Any] = {}
        self.postgres_settings: dict[str, str] = {}
        from cryptography.fernet import Fernet

        self.secret_key = Fernet.generate_key().decode()

    # lifecycle ---------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        started = datetime.now(UTC)
        async with Stub() as stub, LoadGenerator(stub.receipts) as load:
            self.stub, self.load = stub, load
            try:
                await self.measure_mode("ceiling")
                for mode in self.config.modes:
                    await self.measure_mode(mode)
            finally:
                if self.postgres is not None:
                    self.postgres.stop()
                if not self.config.keep:
                    shutil.rmtree(self.tmp, ignore_errors=True)
        return self.report(started)

    async def measure_mode(self, mode: str) -> None:
        print(f"== {mode}", flush=True)
        system = await self.start_system(mode)
        info: dict[str, Any] = {"processes": {}, **system.notes}
        self.mode_info[mode] = info
        try:
            for concurrency in self.concurrencies(mode):
                window, costs = await self.point(system, concurrency=concurrency)
                self.record(mode, system, window, costs)
            rate = self.open_rate()
            if rate and "+" not in mode:
                window, costs = await self.point(system, rate=rate)
                self.record(mode, system, window, costs)
            for name, group in system.groups.items():
                for i, proc in enumerate(group if name != "profiler" else []):
                    mem = procs.memory_kb(proc.pid)
                    info["processes"][f"{name}{i}"] = {
                        "pid": proc.pid,
                        "peak_rss_mb": round(mem.get("VmHWM", 0) / 1024, 1),
                        "rss_mb": round(mem.get("VmRSS", 0) / 1024, 1),
                    }
        finally:
            await self.stop_system(system)
        info["log_problems"] = self.log_problems(system)

    def concurrencies(self, mode: str) -> list[int]:
        if mode.endswith("+profile"):
            return [self.config.profile_concurrency]
        if mode.endswith("+backlog"):
            return [10] if 10 in self.config.concurrency else self.config.concurrency[:1]
        return self.config.concurrency

    def open_rate(self) -> float | None:
        if self.config.open_rate is not None:
            return self.config.open_rate or None
        base = self.ceiling.get(10) or max(self.ceiling.values(), default=0.0)
        return round(base / 2, -1) or None

    async def point(
        self, system: System, *, concurrency: int | None = None, rate: float | None = None
    ) -> tuple[Window, dict[str, Any]]:
        """One load point; its window and what it cost (CPU per process group, machine)."""
        assert self.load is not None
        pids = system.pids()
        marks: dict[str, procs.Sample] = {}

        def on_window(edge: str) -> None:
            marks[edge] = procs.sample(pids)

        drain = self.config.drain_s
        if rate is not None:
            window = await self.load.open_loop(
                system.target,
                rate=rate,
                duration_s=self.config.duration_s,
                warmup_s=self.config.warmup_s,
                drain_s=drain,
                on_window=on_window,
            )
        else:
            assert concurrency is not None
            window = await self.load.closed_loop(
                system.target,
                concurrency=concurrency,
                duration_s=self.config.duration_s,
                warmup_s=self.config.warmup_s,
                drain_s=drain,
                max_flows=self.config.flows,
                on_window=on_window,
            )
        used, busy, busy_s = procs.cpu_between(marks["start"], marks["end"])
        costs = {
            "cpu_s": {k: round(v, 3) for k, v in used.items()},
            "machine_busy": busy,
            # CPU of processes that are not part of the benchmark (other work on the machine)
            "other_cpu_s": round(max(0.0, busy_s - sum(used.values())), 2),
        }
        for proc in system.flowhook():
            if not proc.alive():
                raise RuntimeError(f"{proc.name} died during the run:\n{proc.tail()}")
        return window, costs

    def record(self, mode: str, system: System, window: Window, extra: dict[str, Any]) -> None:
        cpu: dict[str, float] = extra["cpu_s"]
        done = max(window.completed_in_window, 1)
        sut = sum(v for k, v in cpu.items() if k not in ("loadgen", "postgres", "profiler"))
        point: dict[str, Any] = {
            "mode": mode,
            **window.as_dict(),
            "cpu_s": cpu,
            "cpu_s_per_1000_flows": round(sut / done * 1000, 3),
            "postgres_cpu_s_per_1000_flows": (
                round(cpu["postgres"] / done * 1000, 3) if "postgres" in cpu else None
            ),
            "loadgen_cpu_s_per_1000_flows": round(cpu["loadgen"] / done * 1000, 3),
            "machine_busy_pct": round(extra["machine_busy"] * 100, 1),
            "other_cpu_s": extra["other_cpu_s"],
            "other_cpu_pct": round(
                extra["other_cpu_s"] / ((os.cpu_count() or 1) * window.duration_s) * 100, 1
            ),
            "peak_rss_mb": {
                f"{name}{i}": round(procs.memory_kb(pid).get("VmHWM", 0) / 1024, 1)
                for name, pids in system.pids().items()
                if name not in ("profiler", "postgres")
                for i, pid in enumerate(pids)
            },
            "ok": window.lost == 0 and window.trigger_errors == 0,
        }
        key = window.concurrency if window.loop == "closed" else -1
        if mode == "ceiling" and window.loop == "closed":
            self.ceiling[window.concurrency] = window.flows_per_s
            self.ceiling_cpu[window.concurrency] = point["cpu_s_per_1000_flows"]
        ceiling_cpu = self.ceiling_cpu.get(window.concurrency) if window.loop == "closed" else None
        # CPU per flow of the ceiling ÷ ours: the efficiency ratio, which unlike flows/s does
        # not move when other work on the machine takes CPU away
        point["cpu_ratio_to_ceiling"] = (
            round(ceiling_cpu / point["cpu_s_per_1000_flows"], 3)
            if ceiling_cpu and point["cpu_s_per_1000_flows"]
            else None
        )
        ceiling = self.ceiling.get(window.concurrency) if window.loop == "closed" else None
        point["ratio_to_ceiling"] = (
            round(window.flows_per_s / ceiling, 3) if ceiling and window.loop == "closed" else None
        )
        base_mode = mode.split("+")[0]
        if mode == base_mode:
            self.reference[(mode, key)] = window.flows_per_s
        elif mode.endswith("+backlog") and (base_mode, key) in self.reference:
            point["ratio_to_no_backlog"] = round(
                window.flows_per_s / max(self.reference[(base_mode, key)], 0.1), 3
            )
        self.points.append(point)
        print("   " + format_row(point), flush=True)
        if not point["ok"]:
            print(f"   !! {window.lost} lost, {window.trigger_errors} trigger errors", flush=True)
            for sample in window.error_samples:
                print(f"      {sample}", flush=True)

    # systems -----------------------------------------------------------------------------
    async def start_system(self, mode: str) -> System:
        if mode == "ceiling":
            return await self.start_ceiling()
        return await self.start_flowhook(mode)

    async def start_ceiling(self) -> System:
        assert self.stub is not None
        port = procs.free_port()
        argv = [
            sys.executable,
            "-m",
            "bench.ceiling",
            "--port",
            str(port),
            "--stub-url",
            self.stub.api_url,
            "--receiver-url",
            self.stub.hook_url,
            "--api-key",
            API_KEY_CEILING,
        ]
        env = base_env({"PYTHONPATH": str(ROOT)})
        proc = procs.start("ceiling", argv, env, self.tmp)
        procs.wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        url = f"http://127.0.0.1:{port}/v1/flows/ceiling1/executions"
        return System("ceiling", Target([url], API_KEY_CEILING), {"ceiling": [proc]})

    def database(self, mode: str) -> tuple[str, dict[str, Any]]:
        slug = mode.replace("+", "_")
        if mode.startswith("sqlite"):
            path = self.tmp / slug / "flowhook.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{path}", {}
        if self.postgres is None:
            self.postgres = start_postgres()
            with self.postgres.connect() as conn:
                for name in ("server_version", "fsync", "synchronous_commit", "full_page_writes"):
                    row = conn.execute(f"SHOW {name}").fetchone()
                    self.postgres_settings[name] = str(row[0]) if row else "?"
        url = self.postgres.create_database(f"bench_{slug}")
        postmaster = int((self.postgres.data_dir / "postmaster.pid").read_text().split()[0])
        return url, {"postgres": postmaster}

    async def start_flowhook(self, mode: str) -> System:
        assert self.stub is not None
        base = mode.split("+")[0]
        url, notes = self.database(mode)
        data_dir = self.tmp / mode.replace("+", "_")
        data_dir.mkdir(parents=True, exist_ok=True)
        env = base_env(
            {
                "FLOWHOOK_DATABASE_URL": url,
                "FLOWHOOK_DATA_DIR": str(data_dir),
                "FLOWHOOK_SECRET_KEY": self.secret_key,
                "FLOWHOOK_ALLOW_PRIVATE_TARGETS": "1",
                "FLOWHOOK_HOST": "127.0.0.1",
                "FLOWHOOK_LOG_LEVEL": "warning",
            }
        )
        if self.config.poll_interval_s is not None:
            env["FLOWHOOK_POLL_INTERVAL_S"] = str(self.config.poll_interval_s)
        created = await asyncio.to_thread(
            run_json, flowhook_argv("account", "create", "bench", "--http-enabled"), env
        )
        account_id, api_key = created["account_id"], created["api_key"]
        if mode.endswith("+backlog"):
            started = time.perf_counter()
            await asyncio.to_thread(insert_backlog, url, account_id, self.config.backlog)
            notes["backlog"] = self.config.backlog
            notes["backlog_insert_s"] = round(time.perf_counter() - started, 2)

        groups: dict[str, list[procs.Process]] = {"api": []}
        apis = 2 if base == "sqlite2" else 1
        workers = int(base[2:]) if base.startswith("pg") else 0
        ports = [procs.free_port()]
        for i, port in enumerate(ports):
            argv = flowhook_argv("serve", "--port", str(port), "--processes", str(apis))
            if workers:
                argv.append("--no-worker")
            proc_env = {**env, "FLOWHOOK_PORT": str(port)}
            if mode.endswith("+profile") and not py_spy():
                proc = self.start_pyinstrument(argv, proc_env)
            else:
                proc = procs.start(f"{mode}-api{i}", argv, proc_env, self.tmp)
            groups["api"].append(proc)
        for i, port in enumerate(ports):
            procs.wait_http(f"http://127.0.0.1:{port}/healthz", groups["api"][i])
        if workers:
            groups["worker"] = [
                procs.start(f"{mode}-worker{i}", flowhook_argv("worker"), env, self.tmp)
                for i in range(workers)
            ]
            for proc in groups["worker"]:
                await wait_log(proc, "started")

        api = f"http://127.0.0.1:{ports[0]}"
        flow_id = await configure(api, api_key, self.stub.api_url, self.stub.hook_url)
        urls = [f"http://127.0.0.1:{p}/v1/flows/{flow_id}/executions" for p in ports]
        if mode.endswith("+profile"):
            if py_spy():
                profiled = groups.get("worker", groups["api"])[0]
                groups["profiler"] = [self.attach_py_spy(profiled, base)]
            notes["profiler"] = "py-spy" if py_spy() else "pyinstrument"
        notes.update({"database": url.split("@")[-1], "api_processes": apis, "workers": workers})
        return System(mode, Target(urls, api_key), groups, notes)

    def attach_py_spy(self, target: procs.Process, base: str) -> procs.Process:
        """Sample the running API process (all threads, only while they hold the GIL):
        start-up and imports stay out of the profile."""
        self.config.results.mkdir(parents=True, exist_ok=True)
        out = self.config.results / f"profile-{base}.txt"
        argv = [str(py_spy()), "record", "--pid", str(target.pid), "--format", "raw"]
        argv += ["--rate", "100", "--gil", "-o", str(out)]
        proc = procs.start("py-spy", argv, dict(os.environ), self.tmp)
        proc.extra.update({"profiler": "py-spy", "output": str(out), "what": target.name})
        return proc

    def start_pyinstrument(self, argv: list[str], env: dict[str, str]) -> procs.Process:
        """Without py-spy: run the API under pyinstrument (main thread only)."""
        self.config.results.mkdir(parents=True, exist_ok=True)
        out = self.config.results / f"profile-{self.config.profile_mode}.html"
        wrapped = [sys.executable, "-m", "pyinstrument", "-r", "html", "-o", str(out)]
        proc = procs.start("profiled-api", [*wrapped, *argv[1:]], env, self.tmp)
        proc.extra.update({"profiler": "pyinstrument", "output": str(out)})
        return proc

    async def stop_system(self, system: System) -> None:
        for name in ("profiler", "worker", "api", "ceiling"):
            for proc in system.groups.get(name, []):
                await asyncio.to_thread(procs.stop, proc)
                if "output" in proc.extra:
                    self.profile = summarise_profile(proc.extra)

    @staticmethod
    def log_problems(system: System) -> dict[str, int]:
        found: dict[str, int] = {}
        for group in system.groups.values():
            for proc in group:
                text = proc.log.read_text(errors="replace") if proc.log.exists() else ""
                hits = sum(
                    1
                    for line in text.splitlines()
                    if "Traceback" in line or "[error" in line or "[warning" in line
                )
                if hits:
                    found[proc.name] = hits
        return found

    # the report --------------------------------------------------------------------------
    def report(self, started: datetime) -> dict[str, Any]:
        ok = all(p["ok"] for p in self.points)
        result = {
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "config": {
                "duration_s": self.config.duration_s,
                "warmup_s": self.config.warmup_s,
                "concurrency": self.config.concurrency,
                "modes": self.config.modes,
                "open_rate": self.open_rate(),
                "backlog": self.config.backlog
                if any("backlog" in m for m in self.config.modes)
                else 0,
                "quick": self.config.quick,
                "flows": self.config.flows,
                "poll_interval_s": self.config.poll_interval_s,
                "postgres": self.postgres_settings,
            },
            "ceiling_flows_per_s": {str(k): v for k, v in self.ceiling.items()},
            "points": self.points,
            "modes": self.mode_info,
            "profile": self.profile,
            "ok": ok,
        }
        return result


# helpers -------------------------------------------------------------------------------
def py_spy() -> Path | None:
    """py-spy next to this Python (``pip install py-spy``), if installed."""
    path = Path(sys.executable).parent / "py-spy"
    return path if path.exists() else None


def run_json(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    import subprocess

    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[3:]} failed:\n{done.stdout}\n{done.stderr}")
    parsed: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return parsed


async def wait_log(proc: procs.Process, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in (proc.log.read_text(errors="replace") if proc.log.exists() else ""):
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} did not say {text!r}:\n{proc.tail()}")
        await asyncio.sleep(0.05)


async def configure(api: str, key: str, stub_url: str, hook_url: str) -> str:
    """The default webhook (→ receiver), the flow, published; returns the flow id."""
    headers = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def call(method: str, path: str, body: Any = None) -> Any:
            async with session.request(method, api + path, json=body) as resp:
                data = await resp.json()
                if resp.status >= 300:
                    raise RuntimeError(f"{method} {path}: {resp.status} {data}")
                return data

        await call(
            "POST", "/v1/webhooks", {"name": "receiver", "url": hook_url, "is_default": True}
        )
        created = await call("POST", "/v1/flows", flow_document(stub_url))
        flow_id: str = created["flow_id"]
        await call("POST", f"/v1/flows/{flow_id}/publish")
        return flow_id


def start_postgres() -> Any:
    """The test suite's throw-away server, but durable: fsync, synchronous commit and full
    page writes back on (the suite turns them off for speed; a benchmark must not)."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    from support import postgres

    postgres._SETTINGS.update({"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"})
    server = postgres.PostgresServer()
    server.start()
    return server


def insert_backlog(url: str, account_id: str, count: int) -> None:
    """``count`` PENDING deliveries, due now, to a port where nothing listens."""
    from flowhook.domain.message import OutgoingRequest
    from flowhook.store.db import make_engine
    from flowhook.store.deliveries import PENDING, request_to_json
    from flowhook.store.tables import deliveries

    dead = procs.free_port()  # bound a moment ago and closed: connections are refused
    request = request_to_json(
        OutgoingRequest(
            "POST",
            f"http://127.0.0.1:{dead}/hook",
            {"Content-Type": "application/json"},
            b'{"backlog":true}',
            10.0,
        )
    )
    engine = make_engine(url, single=True)
    now = time.time()
    try:
        for first in range(0, count, 5000):
            rows = [
                {
                    "id": str(uuid.uuid4()),
                    "account_id": account_id,
                    "execution_uuid": None,
                    "webhook_id": None,
                    "endpoint": f"127.0.0.1:{dead}",
                    "request": request,
                    "secret_headers": None,
                    "status": PENDING,
                    "attempts": 0,
                    "due_at": now - 1,
                    "lease_owner": None,
                    "lease_until": None,
                    "created_at": now,
                    "updated_at": now,
                    "schedule_started_at": now,
                }
                for _ in range(first, min(count, first + 5000))
            ]
            with engine.begin() as conn:
                conn.execute(deliveries.insert(), rows)
    finally:
        engine.dispose()


AREAS: list[tuple[str, tuple[str, ...]]] = [
    ("outgoing HTTP (aiohttp client: widget call + delivery)", ("HttpClient.send",)),
    ("group-commit writer thread (statements, state JSON)", ("GroupCommitter._run",)),
    ("reads in the thread pool (store.read)", ("_worker (concurrent/futures/thread.py)",)),
    ("flow-complete hook (payload, request, outbox row)", ("FlowCompleteHook.__call__",)),
    ("delivery engine (signing, attempt log)", ("DeliveryEngine.",)),
    ("interpreter + widgets", ("advance (flowhook/engine/interpreter.py)",)),
    ("execution runner (accept, checkpoint, finish)", ("ExecutionRunner.",)),
    (
        "trigger endpoint (uvicorn request cycle, auth, validation, accept)",
        ("RequestResponseCycle.run_asgi", "HttpToolsProtocol."),
    ),
    ("aiohttp/uvicorn protocol callbacks", ("aiohttp/", "uvicorn/")),
]
"""Where a sample's CPU goes: the first area of this list with a frame in the stack."""


def area_of(frames: list[str]) -> str:
    for name, markers in AREAS:
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
    total = 0
    for line in out.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        samples = int(n)
        total += samples
        frames = [short_frame(f) for f in stack.split(";")]
        own[frames[-1]] += samples
        areas[area_of(frames)] += samples
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
    """``func (path/to/module.py:12)`` → ``func (module.py)``: samples of a function merge."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})" if path else name


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


def save(result: dict[str, Any], results: Path) -> Path:
    results.mkdir(parents=True, exist_ok=True)
    stamp = result["started_at"].replace(":", "").replace("-", "").replace("+0000", "Z")
    path = results / f"{stamp}.json"
    text = json.dumps(result, indent=2) + "\n"
    path.write_text(text)
    (results / "latest.json").write_text(text)
    (results / "latest.md").write_text(markdown_table(result) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    bench = Bench(config)
    result = runner(bench.run())
    path = save(result, config.results)
    print()
    print(table(result))
    if result["profile"].get("areas_pct"):
        print(f"\nprofile of {result['profile']['process']} at C=10, CPU by area (%):")
        for name, pct in result["profile"]["areas_pct"]:
            print(f"  {pct:5.1f}  {name}")
    problems = {m: i["log_problems"] for m, i in result["modes"].items() if i.get("log_problems")}
    if problems:
        print(f"\nwarnings/errors in logs: {problems}")
    print(f"\nresults: {path}")
    if not result["ok"]:
        print("FAILED: some flows were lost or triggers failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
