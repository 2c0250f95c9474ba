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

Peers (``--peers node-red``): the same job through Node-RED 5 (``bench.peers``), measured
after flowhook's modes and set beside them per concurrency (``report.peer_rows``).

Results: ``bench/results/<timestamp>.json`` and ``bench/results/latest.json``, and a table
on stdout with every figure as a ratio of the ceiling.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import procs
from bench.config import Config, parse_args
from bench.internals import Readings, summarise
from bench.loadgen import LoadGenerator, Target, Window
from bench.peers import (
    TRIGGER_PATH,
    NodeRed,
    Skip,
    cache_dir,
    node_red_argv,
    prepare_node_red,
    write_node_red_files,
)
from bench.profile import py_spy, summarise_profile
from bench.report import format_row, internals_table, machine, peer_table, save, table
from bench.seed import configure, insert_backlog, start_postgres
from bench.stub import Stub

ROOT = Path(__file__).resolve().parent.parent
API_KEY_CEILING = "ceiling-key"
API_KEY_NODE_RED = "node-red-key"


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


def flowhook_env(
    url: str, data_dir: Path, secret_key: str, poll_interval_s: float | None = None
) -> dict[str, str]:
    """The environment of every flowhook process of a run (and of its `account create`)."""
    env = base_env(
        {
            "FLOWHOOK_DATABASE_URL": url,
            "FLOWHOOK_DATA_DIR": str(data_dir),
            "FLOWHOOK_SECRET_KEY": secret_key,
            "FLOWHOOK_ALLOW_PRIVATE_TARGETS": "1",
            "FLOWHOOK_HOST": "127.0.0.1",
            "FLOWHOOK_LOG_LEVEL": "warning",
        }
    )
    if poll_interval_s is not None:
        env["FLOWHOOK_POLL_INTERVAL_S"] = str(poll_interval_s)
    return env


def create_account(env: dict[str, str]) -> tuple[str, str]:
    """The bench's account, with outgoing HTTP on, through the CLI: (account id, API key).
    It also creates the database's tables."""
    created = run_json(flowhook_argv("account", "create", "bench", "--http-enabled"), env)
    return created["account_id"], created["api_key"]


def new_secret_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


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
        self.peers: dict[str, NodeRed | Skip] = {}
        self.secret_key = new_secret_key()

    # lifecycle ---------------------------------------------------------------------------
    async def run(self) -> dict[str, Any]:
        started = datetime.now(UTC)
        for peer in self.config.peers:
            # installed (or found) before anything is measured: an install is not a load
            self.peers[peer] = await asyncio.to_thread(prepare_node_red, cache_dir())
            found = self.peers[peer]
            if isinstance(found, Skip):
                print(found.line(), flush=True)
        async with Stub() as stub, LoadGenerator(stub.receipts) as load:
            self.stub, self.load = stub, load
            try:
                await self.measure_mode("ceiling")
                for mode in self.config.modes:
                    await self.measure_mode(mode)
                for peer, found in self.peers.items():
                    if isinstance(found, NodeRed):
                        await self.measure_mode(peer)
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
        stats_dir = system.notes.get("stats_dir")
        readings = Readings(Path(stats_dir)) if stats_dir else None

        def on_window(edge: str) -> None:
            marks[edge] = procs.sample(pids)
            if readings is not None:
                readings.mark(edge)

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
        if readings is not None:
            costs["internals"] = summarise(
                await readings.collect(), window.completed_in_window, window.duration_s
            )
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
        if extra.get("internals"):
            point["internals"] = extra["internals"]
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
        if mode == "node-red":
            return await self.start_node_red()
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

    async def start_node_red(self) -> System:
        """Node-RED with the bench's flows file and settings, its user dir in the cache."""
        assert self.stub is not None
        installed = self.peers["node-red"]
        assert isinstance(installed, NodeRed)
        port = procs.free_port()
        user_dir = cache_dir() / "node-red-user"
        _flows, settings = write_node_red_files(
            user_dir, port, self.stub.api_url, self.stub.hook_url
        )
        env = base_env({"BENCH_API_KEY": API_KEY_NODE_RED})
        proc = procs.start("node-red", node_red_argv(installed, user_dir, settings), env, self.tmp)
        await wait_log(proc, "Started flows")  # its port answers 404 before that
        url = f"http://127.0.0.1:{port}{TRIGGER_PATH}"
        notes = {
            "node_red": installed.node_red_version,
            "node": installed.node_version,
            "durable": False,
            "user_dir": str(user_dir),
        }
        return System("node-red", Target([url], API_KEY_NODE_RED), {"node-red": [proc]}, notes)

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
        env = flowhook_env(url, data_dir, self.secret_key, self.config.poll_interval_s)
        # each process appends its group-commit and claim figures here on SIGUSR1
        env["FLOWHOOK_STATS_DIR"] = str(data_dir / "stats")
        notes["stats_dir"] = str(data_dir / "stats")
        account_id, api_key = await asyncio.to_thread(create_account, env)
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
        await wait_stats(Path(notes["stats_dir"]), groups)
        return System(mode, Target(urls, api_key), groups, notes)

    def attach_py_spy(self, target: procs.Process, base: str) -> procs.Process:
        """Sample the running API process (all threads, only while they hold the GIL):
        start-up and imports stay out of the profile."""
        self.config.results.mkdir(parents=True, exist_ok=True)
        out = self.config.results / f"profile-{base}.txt"
        argv = [str(py_spy()), "record", "--pid", str(target.pid), "--format", "raw"]
        rate = os.environ.get("BENCH_PYSPY_RATE", "100")  # samples/s; more for a finer profile
        argv += ["--rate", rate, "--gil", "-o", str(out)]
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
        for name in ("profiler", "worker", "api", "ceiling", "node-red"):
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
                "peers": self.config.peers,
            },
            "ceiling_flows_per_s": {str(k): v for k, v in self.ceiling.items()},
            "points": self.points,
            "modes": self.mode_info,
            "profile": self.profile,
            "peers": {
                peer: (
                    {"skipped": found.reason}
                    if isinstance(found, Skip)
                    else {
                        "node_red": found.node_red_version,
                        "node": found.node_version,
                        "durable": False,
                    }
                )
                for peer, found in self.peers.items()
            },
            "ok": ok,
        }
        return result


# helpers -------------------------------------------------------------------------------
def run_json(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    import subprocess

    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[3:]} failed:\n{done.stdout}\n{done.stderr}")
    parsed: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return parsed


async def wait_stats(
    folder: Path, groups: dict[str, list[procs.Process]], timeout: float = 30.0
) -> None:
    """Wait until every flowhook process (the copies of `serve --processes` too) has written
    its first stats reading: from then on SIGUSR1 is safe to send it. A process that never
    does is left out of the figures, not failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [p.pid for name in ("api", "worker") for p in groups.get(name, [])]
        pids += [d for p in groups.get("api", []) for d in procs.descendants(p.pid)]
        if all((folder / f"{pid}.jsonl").exists() for pid in pids):
            return
        await asyncio.sleep(0.05)


async def wait_log(proc: procs.Process, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in (proc.log.read_text(errors="replace") if proc.log.exists() else ""):
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} did not say {text!r}:\n{proc.tail()}")
        await asyncio.sleep(0.05)


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
    inside = internals_table(result)
    if inside:
        print()
        print(inside)
    beside = peer_table(result)
    if beside:
        print()
        print(beside)
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
