"""``flowhook serve --processes N``: the sockets and the copies of the server.

One Python process is bound to one core (the GIL); with ``--processes N`` the first process
(the parent) binds a port with SO_REUSEPORT and starts N-1 copies of itself on it, the
kernel spreading connections over them. The parent keeps the copies running (a copy that
dies is started again; its leased work is taken over meanwhile) and stops them when it
stops; a copy dies with its parent (Linux ``PR_SET_PDEATHSIG``), so no orphan keeps the
port. ``cli.py`` only parses the options and calls in here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
from types import FrameType

import structlog

log = structlog.get_logger("flowhook.serve")


def bound_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound but not listening yet: uvicorn listens once it serves."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def shared_socket(host: str, port: int) -> socket.socket:
    """A socket the parent and its copies all listen on (SO_REUSEPORT), inherited by them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def bind_error(host: str, port: int, exc: OSError) -> str:
    """One clear line for a port that cannot be bound."""
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {host}:{port}: the port is already in use (another flowhook?);"
            " stop it or choose another port with --port or FLOWHOOK_PORT"
        )
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def die_with_parent(parent_pid: int | None) -> bool:
    """Make this copy receive SIGTERM when its parent dies (even by SIGKILL). False when
    the parent died already, before that took effect: the copy should exit at once."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    return parent_pid is None or os.getppid() == parent_pid


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


class Copies:
    """The N-1 copies of a ``serve --processes N`` parent, kept running until :meth:`stop`."""

    def __init__(self, count: int, host: str, port: int, *, worker: bool) -> None:
        self.host = host
        self.port = port
        self.worker = worker
        self._stopping = threading.Event()
        self._copies = [self._start() for _ in range(count)]
        self._keeper = threading.Thread(target=self._keep, name="flowhook-copies", daemon=True)
        if self._copies:
            self._keeper.start()
        # uvicorn stops gracefully on SIGTERM, then raises the signal again with the handler
        # it found: the default one would end this process before ``stop`` ends the copies
        # (they would outlive it for a moment, holding the port); this one lets it run
        signal.signal(signal.SIGTERM, _exit_quietly)

    def _start(self) -> subprocess.Popen[bytes]:
        """Another server process on the same port, with this one's environment."""
        argv = [sys.executable, "-m", "flowhook", "serve", "--host", self.host]
        argv += ["--port", str(self.port), "--reuse-port", f"--parent-pid={os.getpid()}"]
        argv += ["--worker" if self.worker else "--no-worker"]
        return subprocess.Popen(argv)

    def _keep(self) -> None:
        """Start a copy again when one dies (its leased work is taken over meanwhile)."""
        while not self._stopping.wait(1.0):
            for i, copy in enumerate(self._copies):
                code = copy.poll()
                if code is not None and not self._stopping.is_set():
                    log.warning("server copy exited: starting it again", pid=copy.pid, code=code)
                    self._copies[i] = self._start()

    def stop(self) -> None:
        self._stopping.set()
        if self._copies:
            self._keeper.join(timeout=5)
        for copy in self._copies:
            copy.terminate()
        for copy in self._copies:
            try:
                copy.wait(timeout=15)
            except subprocess.TimeoutExpired:
                copy.kill()


GC_THRESHOLD = (10_000, 20, 100)
"""The collector's thresholds in a serving process (CPython's default is 700, 10, 10)."""


def settle_heap() -> None:
    """Once a server or worker has started: move what start-up built (modules, settings,
    compiled flows, the migration's objects) out of the collector's sight, and collect the
    youngest generation less often.

    A flow allocates hundreds of short-lived objects (requests, states, step entries). With
    CPython's defaults the collector ran about 180 times per 1,000 flows, and its rare full
    collections walked the whole start-up heap again: 4.8 % of the process's CPU in the
    reference scenario, 2–3 % with these settings, start-up included (make bench, sqlite at
    C=10, 4,000 flows, timed by ``gc.callbacks``). Reference cycles are still collected,
    only in larger batches.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
