"""The command line (Typer): ``serve``, ``worker``, ``run``, ``account create``, ``db upgrade``.

Every command builds one ``Settings`` from the environment and passes it down.
"""

from __future__ import annotations

import asyncio
import json
import signal
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from flowhook.settings import Settings

app = typer.Typer(
    help="flowhook: communication flows connected through webhooks", no_args_is_help=True
)
account_app = typer.Typer(help="Accounts", no_args_is_help=True)
db_app = typer.Typer(help="Database", no_args_is_help=True)
app.add_typer(account_app, name="account")
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
) -> None:
    """Serve the API (with an in-process worker unless --no-worker)."""
    import uvicorn

    from flowhook.api.app import create_app
    from flowhook.logging import configure
    from flowhook.runtime import Runtime
    from flowhook.store import demo as demo_repo

    settings = _settings(host=host, port=port)
    configure(settings)
    runtime = Runtime.build(settings)
    if demo:
        account, api_key, _ = runtime.store.write_sync(
            lambda c: demo_repo.ensure_demo(c, runtime.cipher, time.time())
        )
        typer.echo("")
        typer.echo(f"  flowhook is running at {settings.base_url}")
        typer.echo(f"  demo account: {account.id}")
        typer.echo(f"  demo API key: {api_key}")
        typer.echo(f"  try: curl -H 'Authorization: Bearer {api_key}' {settings.base_url}/v1/flows")
        typer.echo("")
    application = create_app(settings, worker=worker, runtime=runtime)
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


@app.command("worker")
def worker_command() -> None:
    """Run a worker alone: claims executions and deliveries from the shared database."""
    from flowhook.logging import configure
    from flowhook.runtime import Runtime

    settings = _settings()
    configure(settings)

    async def main() -> None:
        runtime = Runtime.build(settings)
        await runtime.start(worker=True)
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
    from flowhook.store import accounts as account_repo
    from flowhook.store.db import Store
    from flowhook.store.secrets import Cipher

    settings = _settings()
    store = Store(settings)
    try:
        account, api_key = store.write_sync(
            lambda c: account_repo.create(
                c,
                name,
                Cipher(settings),
                time.time(),
                http_enabled=http_enabled,
                default_region=region.upper(),
                timezone=timezone,
            )
        )
    finally:
        store.close()
    typer.echo(json.dumps({"account_id": account.id, "api_key": api_key}))


@account_app.command("set-http")
def account_set_http(account_id: str, enabled: bool) -> None:
    """Operator: allow or forbid plain-HTTP webhooks for an account."""
    from flowhook.store import accounts as account_repo
    from flowhook.store.db import Store

    store = Store(_settings())
    try:
        account = store.write_sync(
            lambda c: account_repo.update_settings(c, account_id, http_enabled=enabled)
        )
    finally:
        store.close()
    if account is None:
        typer.echo(f"no account {account_id}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps({"account_id": account.id, "http_enabled": account.http_enabled}))


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


@app.command()
def run(
    flow_file: Annotated[Path, typer.Argument(help="a flow document, JSON or YAML")],
    var: Annotated[list[str] | None, typer.Option("--var", help="'$flow.key.x=value'")] = None,
    cli: Annotated[str | None, typer.Option(help="caller number")] = None,
    dnis: Annotated[str | None, typer.Option(help="called number")] = None,
    timeout: Annotated[float, typer.Option(help="give up after this many seconds")] = 3600,
) -> None:
    """Run a flow locally (throw-away database) and print its step trace."""
    from flowhook.localrun import run_locally

    try:
        document = yaml.safe_load(flow_file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        typer.echo(f"cannot read {flow_file}: {exc}", err=True)
        raise typer.Exit(2) from None
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(
            database_url=f"sqlite:///{tmp}/run.db", data_dir=Path(tmp), allow_private_targets=True
        )
        code = asyncio.run(
            run_locally(settings, document, _parse_vars(var or []), cli, dnis, timeout)
        )
    raise typer.Exit(code)
