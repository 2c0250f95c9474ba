"""Processes of a benchmark run and what they cost, read from /proc (no psutil).

CPU is ``utime + stime`` of ``/proc/<pid>/stat`` (all threads of the process), peak memory
is ``VmHWM`` of ``/proc/<pid>/status`` (the high-water mark of the resident set since the
process started), and the machine's busy share comes from ``/proc/stat``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process (every thread), or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # fields 14 and 15 of stat(5)


def memory_kb(pid: int) -> dict[str, int]:
    """``VmHWM`` (peak) and ``VmRSS`` (now) in kB."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                out[name] = int(value.split()[0])
    except OSError:
        pass
    return out


def children(pid: int) -> list[int]:
    """Direct children of a process (``/proc/<pid>/task/*/children``)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                found += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
    except OSError:
        pass
    return found


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from the first line of /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user/nice
    return total - idle, total


@dataclass
class Sample:
    """CPU of a set of processes and of the machine at one moment."""

    at: float
    cpu: dict[str, float]
    machine: tuple[int, int]


def sample(groups: dict[str, list[int]]) -> Sample:
    cpu = {name: sum(cpu_seconds(pid) or 0.0 for pid in pids) for name, pids in groups.items()}
    cpu["loadgen"] = sum(os.times()[:2])
    return Sample(time.perf_counter(), cpu, machine_ticks())


def cpu_between(first: Sample, last: Sample) -> tuple[dict[str, float], float, float]:
    """CPU seconds per group between two samples, the machine's busy share (0..1) and its
    busy CPU seconds (every process, ours or not)."""
    used = {name: last.cpu[name] - first.cpu.get(name, 0.0) for name in last.cpu}
    busy = last.machine[0] - first.machine[0]
    total = last.machine[1] - first.machine[1]
    return used, (busy / total if total else 0.0), busy / _TICKS


@dataclass
class Process:
    """A child process of the benchmark with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    measured_pid: int = 0
    """The pid whose CPU and memory count: the Python process, not a profiler around it."""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.measured_pid or self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start(name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> Process:
    log = log_dir / f"{name}.log"
    handle = log.open("wb")
    popen = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT
    )
    handle.close()
    return Process(name, popen, log)


def wait_http(url: str, proc: Process, timeout: float = 60.0) -> None:
    """Wait until ``url`` answers (any HTTP status), or fail with the process's log."""
    deadline = time.monotonic() + timeout
    while True:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited early:\n{proc.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} did not answer {url}:\n{proc.tail()}") from None
            time.sleep(0.05)


def stop(proc: Process, timeout: float = 30.0) -> None:
    """SIGINT (a clean shutdown: uvicorn drains, profilers write their output), then kill."""
    if not proc.alive():
        return
    proc.popen.send_signal(signal.SIGINT)
    try:
        proc.popen.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.popen.terminate()
        try:
            proc.popen.wait(5)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.popen.wait()
