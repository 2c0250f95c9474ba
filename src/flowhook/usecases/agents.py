"""Direct-dial agents: create, list, read, pause/unpause or rename, delete.

An agent is identified by its CLI, normalised with the account's default region and unique
in the account (``AGENT_EXISTS``). The dialer (:mod:`flowhook.internal.dialer`) allots
dialer calls to agents that are neither paused nor busy, so an agent that becomes free here
(added, or unpaused) wakes it: a queued call need not wait for its next retry.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from flowhook.domain.account import Account
from flowhook.domain.agent import Agent
from flowhook.domain.numbers import normalise
from flowhook.errors import Code, Conflict, NotFound
from flowhook.internal.dialer import Dialer
from flowhook.runtime import Runtime
from flowhook.store import agents as agent_repo


def _printable(name: str) -> str:
    if not name.isprintable():
        raise ValueError("an agent's name cannot contain control characters")
    return name.strip()


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_printable)]


class NewAgent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    cli: str = Field(min_length=1, max_length=32)
    paused: bool = False


class AgentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paused: bool | None = None
    name: Name | None = None


def _not_found(agent_id: str) -> NotFound:
    return NotFound(f"no agent {agent_id}", code=Code.AGENT_NOT_FOUND)


def _wake(rt: Runtime) -> None:
    dialer = rt.services.get(Dialer)
    if dialer.wake is not None:
        dialer.wake()


async def create(rt: Runtime, account: Account, form: NewAgent) -> Agent:
    cli = normalise(form.cli, account.default_region)
    now = rt.now()
    agent = await rt.store.write(
        lambda c: agent_repo.create(c, account.id, form.name, cli, form.paused, now)
    )
    if agent is None:
        raise Conflict(f"the account already has an agent with CLI {cli}", code=Code.AGENT_EXISTS)
    _wake(rt)
    return agent


async def list_all(rt: Runtime, account: Account) -> list[Agent]:
    """The account's agents, oldest first."""
    return await rt.store.read(lambda c: agent_repo.list_for(c, account.id))


async def get(rt: Runtime, account: Account, agent_id: str) -> Agent:
    agent = await rt.store.read(lambda c: agent_repo.get(c, agent_id, account.id))
    if agent is None:
        raise _not_found(agent_id)
    return agent


async def update(rt: Runtime, account: Account, agent_id: str, form: AgentPatch) -> Agent:
    """Pause, unpause or rename; a field left out stays as it is."""
    now = rt.now()
    agent = await rt.store.write(
        lambda c: agent_repo.update_agent(
            c, agent_id, account.id, now, paused=form.paused, name=form.name
        )
    )
    if agent is None:
        raise _not_found(agent_id)
    if form.paused is False:
        _wake(rt)
    return agent


async def delete(rt: Runtime, account: Account, agent_id: str) -> None:
    removed = await rt.store.write(lambda c: agent_repo.remove(c, agent_id, account.id))
    if not removed:
        raise _not_found(agent_id)
