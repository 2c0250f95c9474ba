"""The command line: accounts, migrations and ``flowhook run`` with its exit codes."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import stat
import subprocess
import sys
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, inspect, select
from typer.testing import CliRunner

from flowhook.cli import app
from flowhook.store.tables import accounts
from support.process import FLOWHOOK, Served, flowhook_env, free_port
from support.receiver import receiver

GREET: dict[str, Any] = {
    "name": "greet",
    "entry": {"start": "a"},
    "widgets": {
        "a": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.greeting", "value": "hi $flow.key.x"}],
            "next": "b",
        },
        "b": {"type": "end"},
    },
}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A database of our own, for the CLI in this process and in subprocesses."""
    values = flowhook_env(f"sqlite:///{tmp_path}/cli.db", tmp_path)
    for name, value in values.items():
        if name.startswith("FLOWHOOK_"):
            monkeypatch.setenv(name, value)
    return values


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc))
    return path


def stored_account(database_url: str, account_id: str) -> Any:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(accounts).where(accounts.c.id == account_id)).one()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_account_create_prints_the_id_and_key_as_json(env: dict[str, str]) -> None:
    out = subprocess.run(
        [FLOWHOOK, "account", "create", "acme"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    assert set(created) == {"account_id", "api_key"}
    row = stored_account(env["FLOWHOOK_DATABASE_URL"], created["account_id"])
    assert row.name == "acme"
    assert row.http_enabled is False
    assert row.api_key_hash == hashlib.sha256(created["api_key"].encode()).hexdigest()


def test_account_create_with_options_and_set_http(env: dict[str, str]) -> None:
    result = invoke("account", "create", "beta", "--region", "us", "--timezone", "Asia/Kolkata")
    assert result.exit_code == 0, result.output
    account_id = json.loads(result.output)["account_id"]
    row = stored_account(env["FLOWHOOK_DATABASE_URL"], account_id)
    assert (row.default_region, row.timezone) == ("US", "Asia/Kolkata")

    result = invoke("account", "set-http", account_id, "true")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"account_id": account_id, "http_enabled": True}
    assert stored_account(env["FLOWHOOK_DATABASE_URL"], account_id).http_enabled is True


def test_account_set_http_of_an_unknown_account_exits_1(env: dict[str, str]) -> None:
    invoke("db", "upgrade")
    result = CliRunner().invoke(app, ["account", "set-http", "no-such-account", "true"])
    assert result.exit_code == 1


def new_account(name: str = "acme") -> str:
    result = invoke("account", "create", name)
    assert result.exit_code == 0, result.output
    account_id: str = json.loads(result.output)["account_id"]
    return account_id


def signs_in(base_url: str, email: str, password: str) -> bool:
    """Whether the console's sign-in form takes these credentials (urllib, cookies kept)."""
    import re
    from urllib.parse import urlencode

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(f"{base_url}/sign-in", timeout=30) as response:
        form = response.read().decode()
    match = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert match, form
    body = urlencode({"csrf_token": match[1], "email": email, "password": password})
    try:
        with opener.open(f"{base_url}/sign-in", body.encode(), timeout=30) as response:
            return response.url == f"{base_url}/" and email in response.read().decode()
    except urllib.error.HTTPError as exc:
        assert exc.code == 401, exc.read()
        return False


@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_user_create_prints_a_one_time_password_that_signs_in(
    env: dict[str, str], tmp_path: Path
) -> None:
    account_id = new_account()
    result = invoke("user", "create", account_id, "Ops@Acme.test")
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["email"] == "ops@acme.test" and created["role"] == "admin"
    assert created["account_id"] == account_id and len(created["password"]) >= 16

    from flowhook.runtime import Runtime
    from flowhook.settings import Settings
    from flowhook.usecases import users

    async def sign_in(password: str) -> tuple[str, bool]:
        rt = Runtime.build(Settings())
        try:
            signed = await users.sign_in(rt, "ops@acme.test", password, "127.0.0.1")
            return signed.visitor.account.id, signed.visitor.user.must_change_password
        finally:
            await rt.stop()

    # a one-time password: the console asks for the user's own before anything else
    assert asyncio.run(sign_in(created["password"])) == (account_id, True)


@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_user_create_reads_the_password_from_stdin_and_never_prints_it(
    env: dict[str, str],
) -> None:
    account_id = new_account()
    result = CliRunner().invoke(
        app,
        ["user", "create", account_id, "viewer@acme.test", "--role", "viewer", "--password-stdin"],
        input="correct horse battery\n",
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert "password" not in created and "correct horse" not in result.output
    assert created["role"] == "viewer"

    from flowhook.runtime import Runtime
    from flowhook.settings import Settings
    from flowhook.usecases import users

    temporary = CliRunner().invoke(
        app,
        ["user", "create", account_id, "new@acme.test", "--password-stdin", "--temporary"],
        input="given by the operator\n",
    )
    assert temporary.exit_code == 0, temporary.output

    async def role(email: str, password: str) -> tuple[str, bool]:
        rt = Runtime.build(Settings())
        try:
            signed = await users.sign_in(rt, email, password, "127.0.0.1")
            return signed.visitor.user.role, signed.visitor.user.must_change_password
        finally:
            await rt.stop()

    # a password from stdin is the user's own choice, unless --temporary says otherwise
    assert asyncio.run(role("viewer@acme.test", "correct horse battery")) == ("viewer", False)
    assert asyncio.run(role("new@acme.test", "given by the operator")) == ("admin", True)


@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_user_create_refuses_a_taken_address_an_unknown_account_and_a_bad_one(
    env: dict[str, str],
) -> None:
    account_id = new_account()
    assert invoke("user", "create", account_id, "ops@acme.test").exit_code == 0
    taken = CliRunner().invoke(app, ["user", "create", new_account("b"), "OPS@acme.test"])
    assert taken.exit_code == 1 and "USER_EMAIL_TAKEN" in taken.output
    unknown = CliRunner().invoke(app, ["user", "create", "no-such-account", "x@acme.test"])
    assert unknown.exit_code == 1 and "ACCOUNT_NOT_FOUND" in unknown.output
    bad = CliRunner().invoke(app, ["user", "create", account_id, "not an address"])
    assert bad.exit_code == 2 and "email" in bad.output
    short = CliRunner().invoke(
        app, ["user", "create", account_id, "y@acme.test", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 2 and "password" in short.output
    role = CliRunner().invoke(app, ["user", "create", account_id, "z@acme.test", "--role", "god"])
    assert role.exit_code == 2 and "role" in role.output


def test_db_upgrade_creates_the_schema_and_is_idempotent(env: dict[str, str]) -> None:
    for _ in range(2):
        result = invoke("db", "upgrade")
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output
    engine = create_engine(env["FLOWHOOK_DATABASE_URL"])
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"accounts", "flows", "executions", "user_preferences"} <= tables


def test_run_prints_the_trace_and_exits_0(env: dict[str, str], tmp_path: Path) -> None:
    result = invoke("run", str(write(tmp_path / "greet.json", GREET)), "--var", "$flow.key.x=1")
    assert result.exit_code == 0, result.output
    assert "store_variable" in result.output and "end" in result.output
    assert "COMPLETED" in result.output
    assert '"$flow.key.greeting": "hi 1"' in result.output


def test_run_reads_yaml_too(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "greet.yaml"
    path.write_text(yaml.safe_dump(GREET))
    result = invoke("run", str(path), "--var", "$flow.key.x=yaml")
    assert result.exit_code == 0, result.output
    assert "hi yaml" in result.output


def test_run_waits_through_a_delay(env: dict[str, str], tmp_path: Path) -> None:
    doc = {
        "name": "pause",
        "entry": {"start": "wait"},
        "widgets": {
            "wait": {"type": "delay", "seconds": 0.2, "next": "a"},
            "a": GREET["widgets"]["a"],
            "b": GREET["widgets"]["b"],
        },
    }
    result = invoke("run", str(write(tmp_path / "pause.json", doc)), "--var", "$flow.key.x=2")
    assert result.exit_code == 0, result.output
    assert "hi 2" in result.output


def test_run_exits_1_when_the_flow_fails(env: dict[str, str], tmp_path: Path) -> None:
    doc = {
        "name": "fails",
        "entry": {"start": "a"},
        "widgets": {
            "a": {
                "type": "operation",
                "operation": "divide",
                "left": "1",
                "right": "0",
                "target": "$flow.key.q",
            }
        },
    }
    result = invoke("run", str(write(tmp_path / "fails.json", doc)))
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output and "DIVISION_BY_ZERO" in result.output


def test_run_exits_2_for_an_invalid_flow_with_its_problems(
    env: dict[str, str], tmp_path: Path
) -> None:
    doc = {**GREET, "widgets": {**GREET["widgets"], "b": {"type": "teleport"}}}
    result = invoke("run", str(write(tmp_path / "bad.json", doc)))
    assert result.exit_code == 2, result.output
    assert "INVALID_FLOW" in result.output
    assert "$.widgets.b.type" in result.output


def saved_hook_flow() -> dict[str, Any]:
    """A flow whose webhook widget calls the saved webhook ``crm_events``."""
    return {
        "name": "report",
        "entry": {"start": "call"},
        "widgets": {
            "call": {
                "type": "webhook",
                "webhook": "crm_events",
                "response_map": {"$flow.key.score": "data.score"},
                "exits": {"0": "ok", "1": "bad"},
            },
            "ok": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.path", "value": "success"}],
            },
            "bad": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.path", "value": "failure"}],
            },
        },
    }


@pytest.mark.slow
async def test_run_takes_saved_webhooks_from_a_file(env: dict[str, str], tmp_path: Path) -> None:
    flow = write(tmp_path / "report.json", saved_hook_flow())
    async with receiver() as rec:
        rec.default = (200, {"score": 93}, {})
        hooks = tmp_path / "webhooks.yaml"
        hooks.write_text(
            yaml.safe_dump(
                {
                    "crm_events": {
                        "method": "POST",
                        "url": rec.url,
                        "body_type": "JSON",
                        "body": {"customer": "$flow.key.x"},
                    }
                }
            )
        )
        proc = await asyncio.create_subprocess_exec(
            FLOWHOOK,
            *("run", str(flow), "--webhooks", str(hooks), "--var", "$flow.key.x=asha"),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
    output = out.decode()
    assert proc.returncode == 0, output
    assert [r.json() for r in rec.received] == [{"customer": "asha"}]
    assert '"$flow.key.path": "success"' in output
    assert '"$flow.key.score": 93' in output
    assert "WEBHOOK_NOT_FOUND" not in output


def test_run_without_the_saved_webhook_warns_and_takes_exit_1(
    env: dict[str, str], tmp_path: Path
) -> None:
    result = invoke("run", str(write(tmp_path / "report.json", saved_hook_flow())))
    # the missing webhook is the flow's failure line to handle, not a failed execution
    assert result.exit_code == 0, result.output
    warning = result.output.split("execution")[0]
    assert "warning" in warning and "WEBHOOK_NOT_FOUND" in warning
    assert "$.widgets.call.webhook" in warning
    assert '"$flow.key.path": "failure"' in result.output
    assert '"$flow.key.error_reason": "WEBHOOK_NOT_FOUND"' in result.output
    assert "COMPLETED" in result.output


@pytest.mark.parametrize(
    ("hooks", "path"),
    [
        ({"crm_events": {"method": "POST"}}, "$.crm_events.url"),
        ({"crm_events": {"url": "http://127.0.0.1:9/x", "colour": "red"}}, "$.crm_events.colour"),
        ({"crm_events": {"url": "http://127.0.0.1:9/x", "name": "other"}}, "$.crm_events.name"),
        (["crm_events"], "$"),
    ],
)
def test_run_exits_2_for_an_invalid_webhooks_file(
    env: dict[str, str], tmp_path: Path, hooks: Any, path: str
) -> None:
    flow = write(tmp_path / "report.json", saved_hook_flow())
    hooks_file = write(tmp_path / "webhooks.json", hooks)
    result = invoke("run", str(flow), "--webhooks", str(hooks_file))
    assert result.exit_code == 2, result.output
    assert "INVALID_WEBHOOKS" in result.output
    assert path in result.output


def test_run_exits_2_for_a_missing_webhooks_file(env: dict[str, str], tmp_path: Path) -> None:
    flow = write(tmp_path / "report.json", saved_hook_flow())
    result = invoke("run", str(flow), "--webhooks", str(tmp_path / "none.yaml"))
    assert result.exit_code == 2


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", ""])
def test_run_exits_2_for_a_file_that_is_not_a_flow(
    env: dict[str, str], tmp_path: Path, content: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    assert invoke("run", str(path)).exit_code == 2


def test_run_exits_2_for_a_missing_file(env: dict[str, str], tmp_path: Path) -> None:
    assert invoke("run", str(tmp_path / "missing.json")).exit_code == 2


def test_run_exits_2_for_an_invalid_variable(env: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path / "greet.json", GREET)
    assert invoke("run", str(path), "--var", "$call.cli.number=1").exit_code == 2
    assert CliRunner().invoke(app, ["run", str(path), "--var", "no-equals"]).exit_code == 2


def get_flows(base_url: str, key: str) -> int:
    request = urllib.request.Request(
        f"{base_url}/v1/flows", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def serve_demo(env: dict[str, str], log: Path, port: int, **kwargs: Any) -> Served:
    return Served(["--demo", "--host", "127.0.0.1", "--port", str(port)], env, log, **kwargs)


@pytest.mark.slow
def test_serve_demo_prints_the_same_working_key_at_every_start(
    env: dict[str, str], tmp_path: Path
) -> None:
    env = {**env, "FLOWHOOK_LOG_LEVEL": "info"}  # as `make run` logs
    keys, passwords = [], []
    for start in range(2):
        port = free_port()
        accepted: list[bool] = []

        def connect_now(
            banner: dict[str, str], port: int = port, accepted: list[bool] = accepted
        ) -> None:
            # the banner is printed once the port accepts connections, not before
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                accepted.append(True)

        server = serve_demo(env, tmp_path / f"serve{start}.log", port, on_banner=connect_now)
        try:
            assert accepted == [True], server.output()
            assert "Context impl" not in server.output()  # no migration chatter around it
            assert server.banner["url"] == f"http://127.0.0.1:{port}"
            assert server.banner["API reference"] == f"http://127.0.0.1:{port}/docs"
            key = server.banner["demo API key"]
            assert get_flows(server.banner["url"], key) == 200
            keys.append(key)
            # the console's demo user, printed beside the key, signs in
            assert server.banner["console"] == f"http://127.0.0.1:{port}/"
            email, password = server.banner["demo user"], server.banner["demo password"]
            assert signs_in(server.banner["url"], email, password)
            assert not signs_in(server.banner["url"], email, password + "x")
            passwords.append(password)
        finally:
            server.stop()
    assert keys[0] == keys[1]
    assert passwords[0] == passwords[1]
    kept = Path(env["FLOWHOOK_DATA_DIR"]) / "demo.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(kept.read_text())["api_key"] == keys[0]


@pytest.mark.slow
def test_serve_demo_replaces_a_kept_key_the_database_does_not_know(
    env: dict[str, str], tmp_path: Path
) -> None:
    kept = Path(env["FLOWHOOK_DATA_DIR"]) / "demo.json"
    kept.write_text(json.dumps({"account_id": "gone", "api_key": "fh_stale"}))
    server = serve_demo(env, tmp_path / "serve.log", free_port())
    try:
        key = server.banner["demo API key"]
        assert key != "fh_stale"
        assert get_flows(server.banner["url"], key) == 200
    finally:
        server.stop()
    assert json.loads(kept.read_text())["api_key"] == key


@pytest.mark.slow
def test_serve_on_a_taken_port_says_so_in_one_line_and_keeps_the_key(
    env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    first = serve_demo(env, tmp_path / "first.log", port)
    try:
        key = first.banner["demo API key"]
        kept = (Path(env["FLOWHOOK_DATA_DIR"]) / "demo.json").read_text()
        second = subprocess.run(
            [FLOWHOOK, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert "running at" not in second.stdout and "demo API key" not in second.stdout
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert f"127.0.0.1:{port}" in lines[0] and "already in use" in lines[0]
        # the running server still accepts the key it printed
        assert get_flows(first.banner["url"], key) == 200
        assert (Path(env["FLOWHOOK_DATA_DIR"]) / "demo.json").read_text() == kept
    finally:
        first.stop()


@pytest.mark.slow
def test_serve_on_a_taken_port_changes_nothing_in_the_database(
    env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(
            [FLOWHOOK, "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert out.returncode == 1, out.stderr
    assert out.stderr.startswith("flowhook: cannot listen on"), out.stderr
    # not even migrated: the database file was never created
    assert not (tmp_path / "cli.db").exists()
    assert not (tmp_path / "demo.json").exists()


def run_and_list_modules(
    env: dict[str, str], flow: Path, packages: tuple[str, ...], *args: str
) -> tuple[str, dict[str, Any]]:
    """``flowhook run`` in a fresh interpreter: its output, its exit code and which of
    ``packages`` (or their submodules) it imported."""
    probe = (
        "import json, sys\n"
        "from flowhook.cli import app\n"
        f"sys.argv = ['flowhook', 'run', {str(flow)!r}, *{list(args)!r}]\n"
        "try:\n"
        "    app()\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        f"packages = {packages!r}\n"
        "print(json.dumps({'code': code, 'modules': sorted(m for m in sys.modules"
        " if any(m == p or m.startswith(p + '.') for p in packages))}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout, json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_run_does_not_load_the_web_server_the_migrations_or_postgres(
    env: dict[str, str], tmp_path: Path
) -> None:
    """``flowhook run`` starts fast because it loads only what a local run needs."""
    flow = write(tmp_path / "greet.json", GREET)
    packages = ("fastapi", "starlette", "uvicorn", "alembic", "psycopg")
    output, result = run_and_list_modules(env, flow, packages, "--var", "$flow.key.x=1")
    assert "hi 1" in output  # it did run the flow
    assert result == {"code": 0, "modules": []}


@pytest.mark.slow
def test_run_of_a_flow_that_calls_nothing_does_not_load_the_http_client(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Nor what only a call out, a log line, a phone number, metrics or YAML need: aiohttp
    (it builds SSL contexts when imported), structlog with rich's tracebacks and pygments,
    phonenumbers, prometheus_client with urllib.request, PyYAML (the flow file is JSON)."""
    flow = write(tmp_path / "greet.json", GREET)
    packages = (
        "aiohttp",
        "structlog",
        "pygments",
        "phonenumbers",
        "prometheus_client",
        "urllib.request",
        "yaml",
        "flowhook.internal.methods",
        "flowhook.webhooks.transport",
    )
    output, result = run_and_list_modules(env, flow, packages, "--var", "$flow.key.x=1")
    assert "hi 1" in output
    assert result == {"code": 0, "modules": []}


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [("--region", "XX", "default_region"), ("--timezone", "Mars/Olympus_Mons", "timezone")],
)
def test_account_create_refuses_what_the_settings_api_refuses(
    env: dict[str, str], option: str, value: str, problem: str
) -> None:
    """The CLI creates accounts through the same rules as ``PUT /v1/account/settings``: an
    unknown region or time zone is exit 2 and no account."""
    result = CliRunner().invoke(app, ["account", "create", "gamma", option, value])
    assert result.exit_code == 2, result.output
    assert problem in result.output
    engine = create_engine(env["FLOWHOOK_DATABASE_URL"])
    try:
        tables = set(inspect(engine).get_table_names())
        if "accounts" in tables:
            with engine.connect() as conn:
                assert conn.execute(select(accounts)).first() is None
    finally:
        engine.dispose()
