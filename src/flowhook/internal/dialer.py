"""The dialer's agent allotment: which direct-dial agent takes a dialer call.

Rules: an agent takes one call at a time; a paused agent takes none; among the free
agents the one idle longest is chosen; calls that find no free agent wait in a FIFO queue
(the ``dialer_queue`` table) and an agent that becomes free is owed to the call that has
waited longest. Every decision is one store transaction (``store.agents.allot``), so it
is atomic across workers.

Waiting is the engine's durable ``Wait``: the ``agent_allot`` widget retries every few
seconds until its queue timeout. When an agent is released, unpaused or added, the call
at the head of the queue is made due at once (its row's ``due_at`` is set to now), so it
does not sit out the rest of its retry interval. When an execution ends, a completion
hook frees its agent and queue place in the same transaction that finishes it, so a flow
that never reaches ``agent_release`` (a failure, a forgotten widget) leaks no agent.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.domain.agent import Agent
from flowhook.engine.flow import CompiledFlow
from flowhook.engine.state import ExecutionState
from flowhook.store import agents as agent_repo
from flowhook.store.commit import AfterCommit, Write
from flowhook.store.db import Store

AGENT_NUMBER = "call.agent.dnis.number"
AGENT_ID = "call.agent.id"
AGENT_NAME = "call.agent.name"
QUEUED_AT = "call.agent.queued_at"


class Dialer:
    """The allotment service one process lends to widgets (``ctx.services.get(Dialer)``)."""

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.wake = wake  # the worker's nudge: look for due work now

    async def allot(
        self, account_id: str, execution_uuid: str, *, queue_until: float | None = None
    ) -> Agent | None:
        """Give this execution an agent, or queue it (until ``queue_until``) and return None."""
        now = self.clock()
        until = now if queue_until is None else queue_until
        return await self.store.write(
            lambda c: agent_repo.allot(c, account_id, execution_uuid, now, until)
        )

    async def release(self, execution_uuid: str) -> Agent | None:
        """Free the execution's agent (if any) and leave the queue."""
        now = self.clock()
        agent, woken = await self.store.write(lambda c: agent_repo.release(c, execution_uuid, now))
        if woken:
            self._wake()
        return agent

    async def leave_queue(self, execution_uuid: str) -> None:
        await self.store.write(lambda c: agent_repo.leave_queue(c, execution_uuid))

    async def set_paused(self, account_id: str, cli: str, paused: bool) -> Agent | None:
        """Pause or unpause the agent with this (normalised) CLI; None if there is none."""
        now = self.clock()

        def apply(conn: Connection) -> Agent | None:
            agent = agent_repo.by_cli(conn, account_id, cli)
            if agent is None:
                return None
            return agent_repo.update_agent(conn, agent.id, account_id, now, paused=paused)

        agent = await self.store.write(apply)
        if agent is not None and not paused:
            self._wake()
        return agent

    def _wake(self) -> None:
        if self.wake is not None:
            self.wake()

    async def on_finish(
        self, state: ExecutionState, flow: CompiledFlow | None, account: Account, now: float
    ) -> tuple[Write, AfterCommit | None] | None:
        """Completion hook: free the agent and queue place of an execution that had one
        (at ``now``, the finishing transaction's clock)."""
        if AGENT_ID not in state.variables and QUEUED_AT not in state.variables:
            return None  # never went near the dialer: add nothing to the finishing write
        uuid = state.uuid

        def write(conn: Connection) -> bool:
            return agent_repo.release(conn, uuid, now)[1]

        def after(woken: object) -> None:
            if woken:
                self._wake()

        return write, after
