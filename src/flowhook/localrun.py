"""``flowhook run``: one flow, one execution, a throw-away database, a printed trace.

The throw-away account has no saved webhooks unless they are given (``--webhooks``, a
mapping of name → the webhook API's body), so a webhook widget that names one is warned
about before the run, as saving the flow would warn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.domain.request_spec import RequestSpec
from flowhook.engine.flow import CompiledFlow, compile_flow
from flowhook.engine.state import ExecutionState
from flowhook.engine.triggers import new_execution
from flowhook.errors import Code, FlowhookError, ValidationFailed
from flowhook.runtime import Runtime
from flowhook.settings import Settings
from flowhook.store import accounts as account_repo
from flowhook.store import flows as flow_repo
from flowhook.store import webhooks as webhook_repo
from flowhook.store.tables import metadata
from flowhook.usecases import webhooks as webhooks_usecase
from flowhook.usecases.webhooks import WebhookIn
from flowhook.widgets.webhook import missing_saved_webhooks


class LocalWebhook(RequestSpec):
    """A saved webhook in a ``--webhooks`` file: the webhook API's body, its name the key."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    is_default: bool = False

    def form(self, name: str) -> WebhookIn:
        """What the webhook API would have been sent to save it."""
        return WebhookIn.model_validate({**self.model_dump(), "name": name})


_WEBHOOK_FILE = TypeAdapter(dict[str, LocalWebhook])


def saved_webhooks(raw: Any) -> dict[str, LocalWebhook]:
    """The webhooks of a ``--webhooks`` file; ``ValidationFailed`` lists every problem."""
    if raw is None:
        return {}
    problems: list[dict[str, str]] = []
    try:
        hooks = _WEBHOOK_FILE.validate_python(raw)
    except ValidationError as exc:
        for e in exc.errors():
            path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"])
            problems.append({"path": path, "message": e["msg"]})
        hooks = {}
    for name, hook in hooks.items():
        if not 1 <= len(name) <= 100:
            problems.append({"path": f"$.{name}", "message": "names have 1 to 100 characters"})
        if hook.name is not None and hook.name != name:
            message = f"the name is the key ({name!r}); leave 'name' out"
            problems.append({"path": f"$.{name}.name", "message": message})
    if problems:
        raise ValidationFailed(
            "the webhooks file is not valid", code=Code.INVALID_WEBHOOKS, details=problems
        )
    return hooks


async def run_locally(
    settings: Settings,
    document: Any,
    variables: dict[str, Any],
    cli: str | None,
    dnis: str | None,
    timeout: float,
    webhooks: Any = None,
) -> int:
    console = Console()
    try:
        hooks = saved_webhooks(webhooks)
        flow = compile_flow(document)
    except FlowhookError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc.message}")
        for problem in exc.details or []:
            console.print(f"  {problem['path']}: {problem['message']}")
        return 2
    for warning in flow.warnings:
        console.print(f"[yellow]warning[/yellow] {warning.path}: {warning.message}")
    # a throw-away database gets the schema straight from the table definitions (equal to
    # the migrations' result: tests/store/test_migrations.py) instead of through alembic
    runtime = Runtime.build(settings, migrate=False, eager=False)
    metadata.create_all(runtime.store.engine, checkfirst=False)  # a new, empty file
    await runtime.start(worker=True)
    try:
        now = time.time()
        account, _ = await runtime.store.write(
            lambda c: account_repo.create(c, "local", runtime.cipher, now, http_enabled=True)
        )
        for name, hook in hooks.items():
            await webhooks_usecase.create(runtime, account, hook.form(name))
        missing = await runtime.store.read(
            lambda c: missing_saved_webhooks(
                flow, lambda refs: webhook_repo.missing(c, account.id, refs)
            )
        )
        for warning in missing:
            console.print(
                f"[yellow]warning[/yellow] {warning.code} {warning.path}: {warning.message}"
                " (saved webhooks: --webhooks FILE)"
            )
        doc = flow.document.model_dump(exclude_none=True)
        record = await runtime.store.write(lambda c: flow_repo.create(c, account.id, doc, now))
        try:
            state = new_execution(
                account,
                record.flow_id,
                flow.document.type,
                version="test",
                variables=variables,
                cli=cli,
                dnis=dnis,
                now=now,
            )
        except FlowhookError as exc:
            console.print(f"[red]{exc.code}[/red]: {exc.message}")
            return 2
        finished = asyncio.Event()
        runtime.runner.hooks.append(_Finished(finished))
        await runtime.runner.accept([state], flow=flow)
        deadline = time.monotonic() + timeout
        with console.status("running…") as status:
            while True:
                current = await runtime.execution(state.uuid)
                if current and current.status.finished:
                    break
                if time.monotonic() > deadline:
                    console.print("[red]timed out[/red]")
                    return 3
                if current:
                    waiting = (
                        f", waiting {max(0.0, (current.wake_at or 0) - time.time()):.0f}s"
                        if current.wake_at
                        else ""
                    )
                    status.update(f"{current.status.value}: {current.step_count} steps{waiting}")
                # woken at once by the end (its final state is committed), else a status update
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(finished.wait(), 0.1)
        _print_trace(console, current)
        return 0 if current.status.value == "COMPLETED" else 1
    finally:
        await runtime.stop()


class _Finished:
    """A completion hook that adds nothing to the final transaction and sets ``event`` once
    it is committed: the run ends without polling the store for the end."""

    def __init__(self, event: asyncio.Event) -> None:
        self.event = event

    async def __call__(
        self, state: ExecutionState, flow: CompiledFlow | None, account: Account, now: float
    ) -> tuple[Callable[[Connection], None], Callable[[Any], None]]:
        return (lambda conn: None), (lambda result: self.event.set())


def _print_trace(console: Console, state: ExecutionState) -> None:
    table = Table(title=f"execution {state.uuid}")
    for column in ("#", "widget", "type", "exit", "ms", "changed / warnings"):
        table.add_column(column)
    for number, step in enumerate(state.steps, 1):
        notes = json.dumps(step.get("changed", {}), ensure_ascii=False)
        if step.get("warnings"):
            notes += "  ⚠ " + "; ".join(step["warnings"])
        if step.get("error"):
            notes += f"  ✗ {step['error']['code']}: {step['error']['message']}"
        table.add_row(
            str(number),
            step["widget"],
            step["type"],
            str(step.get("exit", "")),
            f"{step.get('duration_ms', 0):.1f}",
            notes,
        )
    console.print(table)
    colour = "green" if state.status.value == "COMPLETED" else "red"
    reason = f" ({state.error_reason}: {state.error_message})" if state.error_reason else ""
    console.print(f"[{colour}]{state.status.value}[/{colour}]{reason}")
    flow_vars = {f"${k}": v for k, v in state.variables.items() if k.startswith("flow.key.")}
    console.print_json(json.dumps(flow_vars, ensure_ascii=False))
