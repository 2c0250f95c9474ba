"""Real flowhook processes for crash tests: started with the installed ``flowhook``
command, killed with SIGKILL, restarted on the same database."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from support.egress import LOOPBACK_ONLY_ENV

FLOWHOOK = str(Path(sys.executable).parent / "flowhook")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def flowhook_env(database_url: str, data_dir: Path, **extra: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWHOOK_")}
    env.update(
        {
            "FLOWHOOK_DATABASE_URL": database_url,
            "FLOWHOOK_DATA_DIR": str(data_dir),
            "FLOWHOOK_SECRET_KEY": Fernet.generate_key().decode(),
            "FLOWHOOK_ALLOW_PRIVATE_TARGETS": "1",
            "FLOWHOOK_EGRESS_ALLOW": LOOPBACK_ONLY_ENV,
            "FLOWHOOK_LEASE_SECONDS": "1",
            "FLOWHOOK_POLL_INTERVAL_S": "0.05",
            "FLOWHOOK_LOG_LEVEL": "warning",
        }
    )
    env.update({f"FLOWHOOK_{k.upper()}": str(v) for k, v in extra.items()})
    return env


def create_account(env: dict[str, str], name: str = "acme") -> dict[str, str]:
    out = subprocess.run(
        [FLOWHOOK, "account", "create", name, "--http-enabled"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


class Process:
    """One ``flowhook`` process; its output goes to a log file read on failure."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._fh = log.open("ab")
        self.proc = subprocess.Popen(
            [FLOWHOOK, *args], env=env, stdout=self._fh, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_http(self, port: int, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"flowhook exited early:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"flowhook did not listen on {port}:\n{self.output()}")

    async def listening(self, port: int, timeout: float = 90.0) -> None:
        """``wait_http`` for async tests: the event loop (and the receivers a test runs on
        it) keeps running while the process starts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"flowhook exited early:\n{self.output()}")
            try:
                _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1)
            except (OSError, TimeoutError):
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise AssertionError(f"flowhook did not listen on {port}:\n{self.output()}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._fh.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._fh.close()


class Served:
    """``flowhook serve`` with its standard output read as it comes: the start-up banner
    (``flowhook is running at URL`` and ``label: value`` rows) is parsed the moment its last
    line is printed, and ``on_banner`` is called right then, before anything else runs."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        log: Path,
        *,
        on_banner: Any = None,
        timeout: float = 60.0,
    ) -> None:
        self.log = log
        self._fh = log.open("ab")
        self.proc = subprocess.Popen(
            [FLOWHOOK, "serve", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._fh,
        )
        self.banner: dict[str, str] = {}
        self.stdout: list[str] = []
        try:
            self._read_banner(on_banner, timeout)
        except BaseException:
            self.stop()  # no server outlives a test that failed while it started
            raise

    def _read_banner(self, on_banner: Any, timeout: float) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        pending = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                if self.proc.poll() is not None:
                    return  # exited without a banner: the caller looks at returncode
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                self.proc.wait(timeout=30)
                return
            pending += chunk
            while b"\n" in pending:
                raw, pending = pending.split(b"\n", 1)
                line = raw.decode()
                self.stdout.append(line)
                text = line.strip()
                if text.startswith("flowhook is running at "):
                    self.banner["url"] = text.removeprefix("flowhook is running at ")
                elif text and self.banner:
                    label, _, value = text.partition(":")
                    self.banner[label] = value.strip()
                elif not text and self.banner:  # the blank line that ends the banner
                    if on_banner is not None:
                        on_banner(self.banner)
                    return
        raise AssertionError(f"no banner within {timeout}s: {self.stdout}\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._fh.close()
