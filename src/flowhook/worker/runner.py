"""The worker: runs executions, claims due work from the store, keeps its leases alive.

One runner per process. New triggers are inserted with this runner's lease and run at once
(no polling delay on the hot path); everything else — delayed starts, waits that ended,
executions of a worker that died — is claimed from the ``executions`` table. Finishing an
execution commits its final state together with the rows its completion hooks add (the
flow-complete delivery, ``$user.key`` write-back): a transactional outbox. The
flow-complete delivery is then sent from the execution's own task (no task of its own),
once the execution has left this runner's ``in_flight`` for the delivery engine's.

An execution claimed more than ``execution_max_claims`` times since its last save is a
poison pill (each run killed or hung its worker before getting anywhere): it is finished as
FAILED with ``WORKER_CRASHED`` instead of being run again, completion hooks included.

A state that cannot be stored (a value the JSON encoder refuses, nested too deep to be
served) is the other poison pill, found without waiting for the claims to pile up: when
storing it fails, the parts that are not JSON a flow may hold (``json_problem``) are
replaced and the execution is finished as FAILED with ``STATE_NOT_STORABLE`` at once, so
the widget that produced the value (an API call) does not run again. The check runs only
after a write failed: checkpoints on the hot path pay nothing for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid as uuid_mod
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, cast

from sqlalchemy import Connection

from flowhook.domain.account import Account, AccountInfo
from flowhook.engine.context import Services
from flowhook.engine.flow import CompiledFlow
from flowhook.engine.interpreter import advance, finish
from flowhook.engine.state import ExecutionState, json_problem
from flowhook.errors import Code, FlowhookError, StateNotStorable, WorkerCrashed
from flowhook.logging import get_logger
from flowhook.store import executions as execution_repo
from flowhook.store import preferences
from flowhook.store.catalog import Catalog
from flowhook.store.commit import Write
from flowhook.store.db import Store
from flowhook.store.intake import Admission, NewExecutions
from flowhook.store.leased import LeasedWorker
from flowhook.store.notify import Work, notify

log = get_logger(__name__)


Send = Coroutine[Any, Any, None]
Followup = Callable[[Any], Send | None]
"""A completion hook's after-commit callback: with its write's result once the finishing
transaction committed. What it may return (the flow-complete delivery's send) is awaited in
the execution's task after the execution has left ``in_flight``: no task of its own."""


class CompletionHook(Protocol):
    """Adds rows to the transaction that finishes an execution (transactional outbox);
    ``now`` is that transaction's clock reading, for every row it writes."""

    async def __call__(
        self, state: ExecutionState, flow: CompiledFlow | None, account: Account, now: float
    ) -> tuple[Write, Followup | None] | None: ...


class LeaseLost(FlowhookError):
    """Another worker took the execution over (this one's lease ran out): stop running it."""

    code = Code.LEASE_LOST

    def __init__(self, uuid: str) -> None:
        super().__init__(f"another worker took execution {uuid} over")


_MAX_INFOS = 1024
"""Accounts whose ``AccountInfo`` a runner keeps (``_info``)."""


def new_owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid_mod.uuid4().hex[:8]}"


class ExecutionRunner(LeasedWorker):
    work = "executions"

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        services: Services,
        *,
        owner: str | None = None,
        hooks: list[CompletionHook] | None = None,
    ) -> None:
        super().__init__(store, services.settings, services.clock)
        self.catalog = catalog
        self.services = services
        self.owner = owner or new_owner_id()
        self.hooks: list[CompletionHook] = list(hooks or [])
        self.local = True  # False in an API-only process: new work is left to the workers
        self._infos: dict[str, tuple[Account, AccountInfo]] = {}

    # accepting work ---------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return self.settings.worker_concurrency - len(self.in_flight)

    def admit(self, new: NewExecutions) -> Admission:
        """New executions, for the caller to write in its transaction and follow up after
        its commit: run here at once when they are due now, ``run_here`` allows it and this
        process has room; otherwise left to the claim loops (woken: this one after the
        delay, the other processes' at once)."""
        states, flow, now, start_at = new.states, new.flow, new.now, new.start_at
        due = now if start_at is None or start_at <= now else start_at
        local = new.run_here and self.local and due <= now and len(states) <= self.capacity
        lease_until = now + self.settings.lease_seconds if local else None

        def insert(c: Connection) -> None:
            execution_repo.insert_many(
                c,
                states,
                due_at=due,
                lease_owner=self.owner if local else None,
                lease_until=lease_until,
                now=now,
            )
            if not local and due <= now:
                notify(c, Work.EXECUTIONS)  # wake the workers of other processes

        def start() -> None:
            if local:
                self.started_here += len(states)
                for state in states:
                    self._spawn(state, flow, account=new.account)
            else:
                self.nudge(due - now)

        return Admission(insert, start)

    async def accept(
        self,
        states: list[ExecutionState],
        *,
        start_at: float | None = None,
        flow: CompiledFlow | None = None,
        run_here: bool = True,
        account: Account | None = None,
    ) -> None:
        """Persist new executions (the trigger is durable once this returns) and run them
        here at once when they are due now and this process has room (``admit``).
        ``flow`` and ``account``, when the caller has them, are the executions' own."""
        now = self.services.clock()
        admission = self.admit(NewExecutions(states, now, start_at, flow, run_here, account))
        await self.store.write(admission.write)
        admission.after_commit()

    def _spawn(
        self,
        state: ExecutionState,
        flow: CompiledFlow | None = None,
        *,
        claims: int = 0,
        account: Account | None = None,
    ) -> None:
        task = asyncio.create_task(
            self._execute(state, flow, claims, account), name=f"execution {state.uuid}"
        )
        self.in_flight[state.uuid] = task

    # running one execution ------------------------------------------------------------
    async def _execute(
        self,
        state: ExecutionState,
        flow: CompiledFlow | None,
        claims: int = 0,
        known: Account | None = None,
    ) -> None:
        """Run until the execution finishes or waits. ``claims``: how often it was claimed
        since it last made progress (0 when this process accepted it); ``known``: its
        account, when the trigger that accepted it had it (no catalog lookup)."""
        account: Account | None = None
        sends: list[Send] = []
        try:
            account = known or await self.catalog.account(state.account_id)
            try:
                if flow is None:
                    flow = await self.catalog.flow(state.flow_id, state.version)
            except FlowhookError as exc:
                flow = None
                self._fail(state, exc)
            if flow is not None and claims > self.settings.execution_max_claims:
                log.error(
                    "failing an execution that crashes its workers", uuid=state.uuid, claims=claims
                )
                self._fail(
                    state,
                    WorkerCrashed(
                        f"the execution was claimed {claims} times without progress: "
                        "a worker crashed or hung while running it"
                    ),
                )
            elif flow is not None:
                if not state.started and state.contact:
                    await self._load_user_variables(state)
                await advance(state, flow, self._info(account), self.services, self._checkpoint)
            if state.status.finished:
                sends = await self._finish(state, flow, account)
            else:
                await self._suspend(state)
        except asyncio.CancelledError:
            raise
        except LeaseLost:
            log.warning("lease lost: another worker runs this execution now", uuid=state.uuid)
        except Exception as exc:
            if account is None or not await self._fail_if_unstorable(state, flow, account, exc):
                log.exception("execution crashed in the worker", uuid=state.uuid)
        finally:
            self.in_flight.pop(state.uuid, None)
        if sends:  # the execution is done: only its deliveries are in flight now
            await _run_all(sends)

    def _info(self, account: Account) -> AccountInfo:
        """``account.info()``, built once per account object (accounts are frozen and the
        catalog hands out the same object until it reads the account again)."""
        known = self._infos.get(account.id)
        if known is not None and known[0] is account:
            return known[1]
        if len(self._infos) >= _MAX_INFOS:
            self._infos.clear()
        info = account.info()
        self._infos[account.id] = (account, info)
        return info

    async def _fail_if_unstorable(
        self, state: ExecutionState, flow: CompiledFlow | None, account: Account, exc: Exception
    ) -> bool:
        """After a crash: when the state itself is the cause, store it without the parts
        that cannot be stored, finish it as FAILED and return True; otherwise (the database
        was away…) return False: it is claimed again once its lease runs out.

        Logged without the traceback: its frames hold the state, and a renderer that shows
        locals would spend minutes on a value nested thousands deep."""
        dropped = _drop_unstorable(state)
        if not dropped:
            return False
        log.error(
            "finishing an execution whose state cannot be stored",
            uuid=state.uuid,
            error=type(exc).__name__,
            replaced=dropped[:10],
        )
        self._fail(
            state,
            StateNotStorable(
                "the execution's state could not be stored; replaced: " + "; ".join(dropped)
            ),
        )
        try:
            await _run_all(await self._finish(state, flow, account))
        except LeaseLost:
            log.warning("lease lost: another worker runs this execution now", uuid=state.uuid)
        except Exception as again:
            log.error("the execution's state still cannot be stored", error=repr(again)[:500])
        return True

    def _fail(self, state: ExecutionState, error: FlowhookError) -> None:
        """End the execution as FAILED without running it (``_finish`` stores it)."""
        state.error_reason = error.code
        state.error_message = error.message
        finish(state, self.services.clock())

    async def _load_user_variables(self, state: ExecutionState) -> None:
        contact = state.contact
        assert contact is not None
        stored = await self.store.read(lambda c: preferences.load(c, state.account_id, contact))
        for name, value in stored.items():
            state.variables.setdefault(f"user.key.{name}", value)

    async def _checkpoint(self, state: ExecutionState) -> None:
        now = self.services.clock()
        until = now + self.settings.lease_seconds
        saved = await self.store.write(
            lambda c: execution_repo.save(
                c,
                state,
                due_at=now,
                lease_owner=self.owner,
                lease_until=until,
                now=now,
                holder=self.owner,
            )
        )
        if not saved:
            raise LeaseLost(state.uuid)

    async def _suspend(self, state: ExecutionState) -> None:
        """A durable wait: release the lease; whoever is free when it is due resumes it."""
        now = self.services.clock()
        wake_at = state.wake_at or now
        saved = await self.store.write(
            lambda c: execution_repo.save(
                c,
                state,
                due_at=wake_at,
                lease_owner=None,
                lease_until=None,
                now=now,
                holder=self.owner,
            )
        )
        if not saved:
            raise LeaseLost(state.uuid)
        self.nudge(wake_at - now)

    async def _finish(
        self, state: ExecutionState, flow: CompiledFlow | None, account: Account
    ) -> list[Send]:
        """Commit the end of the execution with its hooks' rows, run their after-commit
        callbacks and return the sends they handed back, for the caller to await."""
        now = self.services.clock()
        writes: list[Write] = []
        after: list[Followup | None] = []
        for hook in self.hooks:
            added = await hook(state, flow, account, now)
            if added is not None:
                writes.append(added[0])
                after.append(added[1])
        contact = state.contact
        user_values = state.user_variables() if contact else {}

        def finish(conn: Connection) -> list[Any]:
            # the save goes with the outbox rows and the batch's other writes (one round
            # trip on PostgreSQL); whether it saved is checked before the commit, and a
            # lost lease rolls them back with it (the batch's other writes run again)
            execution_repo.save_later(
                conn,
                state,
                due_at=None,
                lease_owner=None,
                lease_until=None,
                now=now,
                holder=self.owner,
            ).require(LeaseLost(state.uuid))
            if contact and user_values:
                preferences.merge(conn, state.account_id, contact, user_values, now)
            return [write(conn) for write in writes]

        results = await self.store.write(finish)
        sends: list[Send] = []
        for callback, result in zip(after, results, strict=True):
            if callback is not None:
                send = callback(result)
                if send is not None:
                    sends.append(send)
        return sends

    # claiming -------------------------------------------------------------------------
    async def stop(self, *, drain_timeout: float = 5.0) -> None:
        await super().stop(drain_timeout=drain_timeout)
        with contextlib.suppress(Exception):
            await self.store.write(lambda c: execution_repo.release_all(c, self.owner))

    async def claim_once(self) -> int:
        free = min(self.capacity, self.settings.claim_batch)
        if free <= 0:
            return 0
        now = self.services.clock()
        until = now + self.settings.lease_seconds
        claimed = await self.store.write(
            lambda c: execution_repo.claim_due(c, self.owner, now, until, free)
        )
        for state, claims in claimed:
            if state.uuid not in self.in_flight:
                self._spawn(state, claims=claims)
        return len(claimed)

    def renewal(self, ids: list[str], until: float) -> Write:
        return lambda c: execution_repo.renew(c, self.owner, ids, until)

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """For tests and `flowhook run`: wait until nothing runs here."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.in_flight and asyncio.get_running_loop().time() < deadline:
            await asyncio.wait(list(self.in_flight.values()), timeout=0.05)


async def _run_all(sends: list[Send]) -> None:
    """Await each send in turn; those not reached (the task was cancelled) are closed, not
    left unawaited: their rows stay leased and are claimed again when the lease ends."""
    left = iter(sends)
    try:
        for send in left:
            await send
    finally:
        for send in left:
            send.close()


def _drop_unstorable(state: ExecutionState) -> list[str]:
    """Replace the variables and step-log entries of ``state`` that are not JSON a flow
    may hold (``json_problem``) by the reason; what was replaced, as ``path: reason``."""
    dropped: list[str] = []

    def storable(value: Any, path: str) -> bool:
        found = json_problem(value, path)
        if found is not None:
            dropped.append(f"{found[0]}: {found[1]}")
        return found is None

    for name, value in list(state.variables.items()):
        if not storable(value, f"${name}"):
            state.variables[name] = None
    for number, logged in enumerate(state.steps):
        step = cast(dict[str, Any], logged)  # walked as the JSON it is stored as
        for key, value in list(step.items()):
            entries = value if isinstance(value, dict) else {key: value}
            target = value if isinstance(value, dict) else step
            for entry, item in list(entries.items()):
                if json_problem(item) is not None:
                    target[entry] = "(not stored: not JSON a flow may hold)"
                    dropped.append(f"steps[{number}].{key}")
    for records in (state.call_legs, state.sms, state.emails, state.recordings):
        records[:] = [r for r in records if storable(r, "$.records")]
    return dropped


__all__ = ["CompletionHook", "ExecutionRunner", "LeaseLost", "new_owner_id"]
