"""The command line (Typer): ``serve``, ``worker``, ``run``, ``account create``,
``user create``, ``db upgrade``.

Every command builds one ``Settings`` from the environment and passes it down. Each command
imports what it needs when it runs: ``flowhook run`` must start in well under a second, so
the web server (FastAPI, uvicorn), the migrations (alembic) and PostgreSQL's driver are
imported by the commands that use them, not by this module. Further down, aiohttp,
structlog, prometheus_client, phonenumbers and PyYAML are loaded on first use; ``serve``
and ``worker`` load them at start (``runtime.preload``), ``run`` only if its flow needs them.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from flowhook.settings import Settings

if TYPE_CHECKING:
    import uvicorn

    from flowhook.runtime import Runtime

T = TypeVar("T")

app = typer.Typer(
    help="flowhook: communication flows connected through webhooks", no_args_is_help=True
)
account_app = typer.Typer(help="Accounts", no_args_is_help=True)
db_app = typer.Typer(help="Database", no_args_is_help=True)
user_app = typer.Typer(help="Console users (the web console at /)", no_args_is_help=True)
app.add_typer(account_app, name="account")
app.add_typer(user_app, name="user")
app.add_typer(db_app, name="db")


def _settings(**overrides: Any) -> Settings:
    settings = Settings()
    return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    worker: Annotated[bool, typer.Option(help="run a worker in this process too")] = True,
    demo: Annotated[bool, typer.Option(help="create the demo account and print its key")] = False,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            "--workers",
            min=1,
            max=64,
            help="server processes sharing the port (SO_REUSEPORT); each runs its own worker",
        ),
    ] = 1,
    reuse_port: Annotated[bool, typer.Option(hidden=True)] = False,
    parent_pid: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Serve the API (with an in-process worker unless --no-worker).

    With ``--processes N`` the process starts N-1 copies of itself on the same port: one
    Python process is bound to one core (the GIL), the kernel spreads connections over N.
    They share the database — SQLite writers take turns on a file lock, PostgreSQL needs
    nothing — so work accepted by one survives any other's crash."""
    import uvicorn

    from flowhook import supervisor
    from flowhook.api.app import create_app
    from flowhook.logging import configure
    from flowhook.runtime import Runtime
    from flowhook.usecases import accounts, users

    if reuse_port and not supervisor.die_with_parent(parent_pid):
        raise typer.Exit(0)
    settings = _settings(host=host, port=port)
    configure(settings)
    # the port first: a taken port is one clear line, before anything touches the database
    try:
        if processes == 1 and not reuse_port:
            listening = supervisor.bound_socket(settings.host, settings.port)
        else:
            listening = supervisor.shared_socket(settings.host, settings.port)
    except OSError as exc:
        typer.echo(
            f"flowhook: {supervisor.bind_error(settings.host, settings.port, exc)}", err=True
        )
        raise typer.Exit(1) from None
    runtime = Runtime.build(settings)
    banner = [("flowhook is running at", settings.base_url)]
    banner.append(("API reference", f"{settings.base_url}/docs"))
    if settings.console:
        banner.append(("console", f"{settings.base_url}/"))
    if demo:
        demo_account = accounts.ensure_demo(runtime)
        api_key = demo_account.api_key
        banner.append(("demo account", demo_account.account.id))
        banner.append(("demo API key", api_key))
        demo_user = users.ensure_demo_user(runtime, demo_account.account)
        banner.append(("demo user", demo_user.user.email))
        banner.append(("demo password", demo_user.password))
        banner.append(
            ("try", f"curl -H 'Authorization: Bearer {api_key}' {settings.base_url}/v1/flows")
        )
    application = create_app(settings, worker=worker, runtime=runtime)
    config = uvicorn.Config(
        application,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        # X-Forwarded-For is judged by the application, from FLOWHOOK_TRUSTED_PROXIES only
        # (forwarded.py); uvicorn's default believes it from 127.0.0.1
        proxy_headers=False,
    )
    on_listening = (lambda: None) if reuse_port else (lambda: _print_banner(banner))
    if processes == 1 and not reuse_port:
        _server(config, on_listening).run(sockets=[listening])
        return
    # the schema is migrated and the secret key written (Runtime.build) before any copy starts
    copies = supervisor.Copies(processes - 1, settings.host, settings.port, worker=worker)
    try:
        _server(config, on_listening).run(sockets=[listening])
    finally:
        copies.stop()


def _server(config: uvicorn.Config, on_listening: Callable[[], None]) -> uvicorn.Server:
    """uvicorn's server, calling ``on_listening`` once it serves requests (not before: a
    banner printed earlier names an address that still refuses connections)."""
    import uvicorn

    from flowhook import supervisor

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and not self.should_exit:
                supervisor.settle_heap()
                on_listening()

    return Server(config)


def _print_banner(rows: list[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows[1:]) + 1
    title, url = rows[0]
    typer.echo("")
    typer.echo(f"  {title} {url}")
    for label, value in rows[1:]:
        typer.echo(f"  {label + ':':<{width}} {value}")
    typer.echo("")


@app.command("worker")
def worker_command() -> None:
    """Run a worker alone: claims executions and deliveries from the shared database."""
    from flowhook import supervisor
    from flowhook.logging import configure
    from flowhook.runtime import Runtime

    settings = _settings()
    configure(settings)

    async def main() -> None:
        runtime = Runtime.build(settings)
        await runtime.start(worker=True)
        supervisor.settle_heap()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        typer.echo(f"worker {runtime.runner.owner} started")
        await stop.wait()
        await runtime.stop()

    asyncio.run(main())


@account_app.command("create")
def account_create(
    name: str,
    http_enabled: Annotated[bool, typer.Option(help="allow plain-HTTP webhooks")] = False,
    region: Annotated[str, typer.Option(help="default phone region")] = "IN",
    timezone: Annotated[str, typer.Option(help="IANA time zone")] = "UTC",
) -> None:
    """Create an account; prints {account_id, api_key} as JSON (the key is shown once)."""
    from pydantic import ValidationError

    from flowhook.usecases import accounts

    try:
        form = accounts.NewAccount(
            name=name, http_enabled=http_enabled, default_region=region, timezone=timezone
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            typer.echo(f"{'.'.join(map(str, error['loc']))}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    created = _with_runtime(lambda rt: accounts.create(rt, form))
    typer.echo(json.dumps({"account_id": created.account.id, "api_key": created.api_key}))


@account_app.command("set-http")
def account_set_http(account_id: str, enabled: bool) -> None:
    """Operator: allow or forbid plain-HTTP webhooks for an account."""
    from flowhook.errors import NotFound
    from flowhook.usecases import accounts

    form = accounts.OperatorPatch(http_enabled=enabled)
    try:
        account = _with_runtime(lambda rt: accounts.operator_update(rt, account_id, form))
    except NotFound:
        typer.echo(f"no account {account_id}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"account_id": account.id, "http_enabled": account.http_enabled}))


@user_app.command("create")
def user_create(
    account_id: str,
    email: str,
    role: Annotated[str, typer.Option(help="admin (changes things) or viewer (reads)")] = "admin",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    temporary: Annotated[
        bool,
        typer.Option(
            "--temporary",
            help="the password from stdin is one-time too: the user changes it at first sign-in",
        ),
    ] = False,
) -> None:
    """Create a console user; prints {user_id, account_id, email, role, password} as JSON.

    Without --password-stdin a password is made up and printed (shown this once: it is
    stored as an argon2 hash); it is a one-time password: the user must choose their own at
    first sign-in. A password from stdin is taken as the user's own choice (not forced to
    change) unless --temporary."""
    from pydantic import ValidationError

    from flowhook.errors import FlowhookError
    from flowhook.usecases import users

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        form = users.NewUser.model_validate({"email": email, "role": role, "password": password})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            typer.echo(f"{'.'.join(map(str, error['loc']))}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    try:
        one_time = temporary or not password_stdin
        created = _with_runtime(lambda rt: users.create_in(rt, account_id, form, one_time=one_time))
    except FlowhookError as exc:
        typer.echo(f"{exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from None
    shown: dict[str, str] = {
        "user_id": created.user.id,
        "account_id": created.user.account_id,
        "email": created.user.email,
        "role": created.user.role,
    }
    if not password_stdin:
        shown["password"] = created.password
    typer.echo(json.dumps(shown))


def _with_runtime(use_case: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run one use case on a runtime of this command's own (no worker), then close it."""
    from flowhook.runtime import Runtime

    async def main() -> T:
        runtime = Runtime.build(_settings())
        try:
            return await use_case(runtime)
        finally:
            await runtime.stop()

    return asyncio.run(main())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (idempotent)."""
    from flowhook.store.db import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    typer.echo("database is up to date")


def _parse_vars(values: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{item!r}: use NAME=VALUE, e.g. '$flow.key.x=1'")
        out[name.strip()] = value
    return out


def _read_document(path: Path) -> Any:
    """A JSON or YAML file for ``run`` (the API's bounded loaders: no YAML aliases, nesting
    bounded); exit 2 when it cannot be read. A ``.json`` file never loads the YAML parser,
    which takes longer to import than the run takes to read any flow."""
    from flowhook.engine.documents import load_json, load_yaml
    from flowhook.errors import FlowhookError

    try:
        load = load_json if path.suffix.lower() == ".json" else load_yaml
        return load(path.read_bytes())
    except OSError as exc:
        typer.echo(f"cannot read {path}: {exc}", err=True)
        raise typer.Exit(2) from None
    except FlowhookError as exc:
        typer.echo(f"cannot read {path}: {exc.code}: {exc.message}", err=True)
        raise typer.Exit(2) from None


@app.command()
def run(
    flow_file: Annotated[Path, typer.Argument(help="a flow document, JSON or YAML")],
    var: Annotated[list[str] | None, typer.Option("--var", help="'$flow.key.x=value'")] = None,
    cli: Annotated[str | None, typer.Option(help="caller number")] = None,
    dnis: Annotated[str | None, typer.Option(help="called number")] = None,
    timeout: Annotated[float, typer.Option(help="give up after this many seconds")] = 3600,
    webhooks: Annotated[
        Path | None,
        typer.Option(help="saved webhooks, JSON or YAML: name → the webhook API's body"),
    ] = None,
) -> None:
    """Run a flow locally (throw-away database) and print its step trace."""
    from flowhook.localrun import run_locally

    document = _read_document(flow_file)
    hooks = _read_document(webhooks) if webhooks is not None else None
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(
            database_url=f"sqlite:///{tmp}/run.db", data_dir=Path(tmp), allow_private_targets=True
        )
        code = asyncio.run(
            run_locally(settings, document, _parse_vars(var or []), cli, dnis, timeout, hooks)
        )
    raise typer.Exit(code)
