"""A throw-away PostgreSQL server, for the test suite and the benchmark.

Store tests run against a real PostgreSQL, not a mock: one server per test session, one
fresh database per test. The server lives in a temporary directory, listens only on
127.0.0.1 at a free port and, for the tests, trades durability for speed (``fsync=off``
and friends), since its data is deleted when the session ends; the benchmark asks for a
``durable`` one (a benchmark must pay for what production pays for).

``initdb`` refuses to run as root, so when the suite runs as root (CI does) the server's
programs run as the ``postgres`` system user.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import psycopg
from psycopg import sql

SERVER_USER = "postgres"
"""The system user the server runs as when we are root."""

DB_USER = "flowhook"
"""The database superuser initdb creates (``--auth=trust``, so no password)."""

_SEARCH_GLOB = "/usr/lib/postgresql/*/bin"
_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
_DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


class PostgresError(RuntimeError):
    """The test server could not be set up, started or stopped."""


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: PATH first, then the newest Debian install."""
    found = shutil.which("initdb")
    if found:
        # /usr/local/bin/initdb may be a symlink; pg_ctl sits next to the real file.
        bindir = Path(found).resolve().parent
        if (bindir / "pg_ctl").exists():
            return bindir
    candidates = [Path(p) for p in Path("/").glob(_SEARCH_GLOB.lstrip("/"))]
    candidates = [p for p in candidates if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    candidates.sort(key=lambda p: _version_key(p.parent.name), reverse=True)
    return candidates[0] if candidates else None


def postgres_available() -> bool:
    """Whether the PostgreSQL server programs are installed on this machine."""
    return find_bindir() is not None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One PostgreSQL server in a temporary directory; ``start()``, then ``stop()``."""

    def __init__(
        self, bindir: Path | None = None, start_timeout: float = 60.0, *, durable: bool = False
    ) -> None:
        self.bindir = bindir or find_bindir()
        if self.bindir is None:
            raise PostgresError(
                f"PostgreSQL server programs (initdb, pg_ctl) not found in PATH or {_SEARCH_GLOB}"
            )
        self.start_timeout = start_timeout
        self.settings = {**_SETTINGS, **(_DURABLE if durable else {})}
        self.host = "127.0.0.1"
        self.port = 0
        self._base: Path | None = None
        self._as_root = os.geteuid() == 0
        self._running = False

    # paths ---------------------------------------------------------------------------
    @property
    def base(self) -> Path:
        if self._base is None:
            raise PostgresError("the server has not been started")
        return self._base

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "postgres.log"

    # lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Create a cluster and start it; on any failure clean up and raise PostgresError."""
        if self._running:
            return
        try:
            self._make_base()
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "--auth=trust",
                "-U",
                DB_USER,
                "--encoding=UTF8",
                # C collation: byte order, like SQLite, and no dependence on installed locales.
                "--no-locale",
                "--no-sync",
            )
            self._start_server()
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)  # in case the session ends without fixture teardown

    def stop(self) -> None:
        """Stop the server at once (its data is disposable) and remove its directory."""
        if self._base is None:
            return
        try:
            if self._running:
                self._stop_server()
        finally:
            shutil.rmtree(self._base, ignore_errors=True)
            self._base = None

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # databases -----------------------------------------------------------------------
    def url(self, database: str) -> str:
        """The SQLAlchemy URL of one database on this server."""
        return f"postgresql+psycopg://{DB_USER}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=DB_USER,
            dbname=database,
            connect_timeout=5,
            autocommit=True,
        )

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, cutting off any connection a test left open."""
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    # internals -----------------------------------------------------------------------
    def _make_base(self) -> None:
        # mkdtemp makes a 0700 directory owned by us; as root we hand it to the server user,
        # who must also be able to reach it, hence /tmp rather than a private TMPDIR.
        parent = "/tmp" if self._as_root and Path("/tmp").is_dir() else None
        self._base = Path(tempfile.mkdtemp(prefix="flowhook-pg-", dir=parent))
        if self._as_root:
            try:
                account = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresError(
                    f"running as root, but there is no {SERVER_USER!r} system user to run "
                    f"PostgreSQL as (create one: useradd --system --user-group {SERVER_USER})"
                ) from None
            os.chown(self._base, account.pw_uid, account.pw_gid)

    def _start_server(self) -> None:
        # The port is picked before the server binds it, so another process may take it in
        # between; try a few ports before giving up.
        for _attempt in range(3):
            self.port = _free_port()
            settings = {
                **self.settings,
                "port": str(self.port),
                "unix_socket_directories": str(self.data_dir),
            }
            options = " ".join(f"-c {shlex.quote(f'{k}={v}')}" for k, v in settings.items())
            result = self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(int(self.start_timeout)),
                "-o",
                options,
                "start",
                check=False,
            )
            if result.returncode == 0:
                self._running = True
                return
            if "could not bind" not in self._log_tail():
                break
        self._running = (self.data_dir / "postmaster.pid").exists()
        raise PostgresError(f"pg_ctl start failed:\n{result.stdout}\n{self._log_tail()}")

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                with self.connect():
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PostgresError(
                        f"PostgreSQL on port {self.port} did not accept connections: {exc}\n"
                        f"{self._log_tail()}"
                    ) from exc
                time.sleep(0.1)

    def _stop_server(self) -> None:
        result = self._run(
            "pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False
        )
        self._running = False
        pid_file = self.data_dir / "postmaster.pid"
        if result.returncode != 0 and pid_file.exists():
            # pg_ctl could not stop it; end the postmaster we started so it never outlives
            # the session (its children exit when it does).
            pid = int(pid_file.read_text().split()[0])
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                return

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        assert self.bindir is not None
        command: Sequence[str] = [str(self.bindir / program), *args]
        if self._as_root:
            command = self._as_server_user(command)
        # PG* variables (PGHOST, PGPORT, …) from the caller's shell must not steer the tools.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        result = subprocess.run(
            command,
            cwd=self.base,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise PostgresError(
                f"{program} failed with exit code {result.returncode}:\n{result.stdout}"
            )
        return result

    @staticmethod
    def _as_server_user(command: Sequence[str]) -> list[str]:
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", SERVER_USER, "--", *command]
        return ["su", SERVER_USER, "-s", "/bin/sh", "-c", shlex.join(command)]

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])
