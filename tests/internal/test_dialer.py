"""The dialer's allotment rules on a real store: longest idle first, never a paused or
busy agent, one agent per call, and a FIFO queue when none is free."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import select

from flowhook.engine.state import ExecutionState, Status
from flowhook.internal.dialer import Dialer
from flowhook.store import agents as agent_repo
from flowhook.store import executions as execution_repo
from flowhook.store.db import Store
from flowhook.store.tables import dialer_queue, executions


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = 1.0) -> float:
        self.now += seconds
        return self.now


async def agents(store: Store, clock: Clock, *names: str, account: str = "acct") -> dict[str, str]:
    """Agents created one second apart (so the first is idle longest); name → id."""
    ids = {}
    for i, name in enumerate(names):
        now = clock.tick()
        agent = await store.write(
            functools.partial(
                agent_repo.create,
                account_id=account,
                name=name,
                cli=f"91981001234{i}",
                paused=False,
                now=now,
            )
        )
        assert agent is not None
        ids[name] = agent.id
    return ids


async def pause(store: Store, agent_id: str, paused: bool, now: float) -> None:
    await store.write(lambda c: agent_repo.update_agent(c, agent_id, "acct", now, paused=paused))


async def test_the_longest_idle_free_agent_is_allotted(store: Store) -> None:
    clock = Clock()
    dialer = Dialer(store, clock)
    ids = await agents(store, clock, "asha", "ravi", "meera")
    got = [await dialer.allot("acct", f"e{i}") for i in range(4)]
    assert [a.name if a else None for a in got] == ["asha", "ravi", "meera", None]
    assert got[0] is not None and got[0].busy_with == "e0"
    # freed agents are idle from the release on: the first freed is next
    clock.tick()
    await dialer.release("e1")
    clock.tick()
    await dialer.release("e0")
    assert (await dialer.allot("acct", "e4")).id == ids["ravi"]  # type: ignore[union-attr]


async def test_pausing_and_unpausing_changes_which_agent_is_picked(store: Store) -> None:
    clock = Clock()
    dialer = Dialer(store, clock)
    ids = await agents(store, clock, "asha", "ravi")
    await pause(store, ids["asha"], True, clock.tick())
    first = await dialer.allot("acct", "e1")
    assert first is not None and first.name == "ravi"  # asha is idle longer, but paused
    await dialer.release("e1")
    clock.tick()
    await pause(store, ids["asha"], False, clock.tick())  # back from her break: idle from now
    second = await dialer.allot("acct", "e2")
    assert second is not None and second.name == "ravi"
    third = await dialer.allot("acct", "e3")
    assert third is not None and third.name == "asha"
    # a paused agent gets no new call even when it is the only free one
    await dialer.release("e3")
    await pause(store, ids["asha"], True, clock.tick())
    assert await dialer.allot("acct", "e4") is None


async def test_an_execution_keeps_its_agent_when_the_step_is_replayed(store: Store) -> None:
    clock = Clock()
    dialer = Dialer(store, clock)
    await agents(store, clock, "asha", "ravi")
    first = await dialer.allot("acct", "e1")
    again = await dialer.allot("acct", "e1")
    assert first is not None and again is not None and first.id == again.id
    other = await dialer.allot("acct", "e2")
    assert other is not None and other.id != first.id


async def test_calls_wait_in_order_for_a_free_agent(store: Store) -> None:
    clock = Clock()
    dialer = Dialer(store, clock)
    await agents(store, clock, "asha")
    assert await dialer.allot("acct", "busy") is not None
    until = clock.now + 60
    assert await dialer.allot("acct", "first", queue_until=until) is None
    clock.tick()
    assert await dialer.allot("acct", "second", queue_until=until) is None
    await dialer.release("busy")
    # the agent is owed to the call that has waited longest
    assert await dialer.allot("acct", "second", queue_until=until) is None
    got = await dialer.allot("acct", "first", queue_until=until)
    assert got is not None and got.name == "asha"
    assert store.read_sync(lambda c: agent_repo.queue_length(c, "acct", clock.now)) == 1


async def test_a_queue_place_past_its_timeout_holds_nobody_up(store: Store) -> None:
    clock = Clock()
    dialer = Dialer(store, clock)
    await agents(store, clock, "asha")
    await dialer.allot("acct", "busy")
    assert await dialer.allot("acct", "gave_up", queue_until=clock.now + 5) is None
    await dialer.release("busy")
    clock.tick(10)
    got = await dialer.allot("acct", "late", queue_until=clock.now + 5)
    assert got is not None
    assert store.read_sync(lambda c: c.execute(select(dialer_queue)).all()) == []


async def test_accounts_do_not_share_agents(store: Store) -> None:
    clock = Clock()
    dialer = Dialer(store, clock)
    await agents(store, clock, "asha", account="other")
    assert await dialer.allot("acct", "e1") is None


async def test_a_freed_agent_wakes_the_first_waiting_execution(store: Store) -> None:
    clock = Clock()
    woken: list[bool] = []
    dialer = Dialer(store, clock, lambda: woken.append(True))
    await agents(store, clock, "asha")
    await dialer.allot("acct", "busy")
    waiting = ExecutionState(
        uuid="waiting-1",
        account_id="acct",
        flow_id="f",
        version="test",
        request_id="r",
        status=Status.WAITING,
    )
    retry_at = clock.now + 30
    await store.write(
        lambda c: execution_repo.insert_many(
            c, [waiting], due_at=retry_at, lease_owner=None, lease_until=None, now=clock.now
        )
    )
    assert await dialer.allot("acct", "waiting-1", queue_until=clock.now + 60) is None
    clock.tick()
    await dialer.release("busy")
    assert woken == [True]
    due_at = store.read_sync(
        lambda c: c.execute(
            select(executions.c.due_at).where(executions.c.uuid == "waiting-1")
        ).scalar_one()
    )
    assert due_at == clock.now  # due now, not at its retry in 30 s


async def test_on_finish_frees_the_agent_of_an_execution_that_had_one(store: Store) -> None:
    clock = Clock()
    dialer = Dialer(store, clock)
    await agents(store, clock, "asha")
    state = ExecutionState(uuid="e1", account_id="acct", flow_id="f", version="t", request_id="r")
    assert await dialer.on_finish(state, None, None, clock.now) is None  # type: ignore[arg-type]
    await dialer.allot("acct", "e1")
    state.variables["call.agent.id"] = "whatever"
    added = await dialer.on_finish(state, None, None, clock.now)  # type: ignore[arg-type]
    assert added is not None
    write: Any = added[0]
    await store.write(write)
    assert await dialer.allot("acct", "e2") is not None
