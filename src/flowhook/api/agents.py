"""Direct-dial agents: create, list, read, pause/unpause (``PATCH``), delete. An agent is
identified by its CLI, normalised with the account's default region and unique in the
account; the dialer allots dialer calls to agents that are neither paused nor busy."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.openapi import error_responses
from flowhook.domain.agent import Agent
from flowhook.domain.numbers import normalise
from flowhook.errors import Conflict, NotFound
from flowhook.internal.dialer import Dialer
from flowhook.store import agents as agent_repo

router = APIRouter()


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


def agent_view(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "cli": agent.cli,
        "paused": agent.paused,
        "status": agent.status,
        "busy_with": agent.busy_with,
        "idle_since": agent.idle_since,
        "created_at": agent.created_at,
    }


def _not_found(agent_id: str) -> NotFound:
    return NotFound(f"no agent {agent_id}", code="AGENT_NOT_FOUND")


def _wake(rt: RuntimeDep) -> None:
    dialer = rt.services.get(Dialer)
    if dialer.wake is not None:
        dialer.wake()


@router.post("/v1/agents", status_code=201, responses=error_responses(409))
async def create_agent(body: NewAgent, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    cli = normalise(body.cli, account.default_region)
    now = time.time()
    agent = await rt.store.write(
        lambda c: agent_repo.create(c, account.id, body.name, cli, body.paused, now)
    )
    if agent is None:
        raise Conflict(f"the account already has an agent with CLI {cli}", code="AGENT_EXISTS")
    _wake(rt)
    return agent_view(agent)


@router.get("/v1/agents")
async def list_agents(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    agents = await rt.store.read(lambda c: agent_repo.list_for(c, account.id))
    return {"agents": [agent_view(a) for a in agents]}


@router.get("/v1/agents/{agent_id}")
async def get_agent(agent_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    agent = await rt.store.read(lambda c: agent_repo.get(c, agent_id, account.id))
    if agent is None:
        raise _not_found(agent_id)
    return agent_view(agent)


@router.patch("/v1/agents/{agent_id}")
async def patch_agent(
    agent_id: str, body: AgentPatch, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    now = time.time()
    agent = await rt.store.write(
        lambda c: agent_repo.update_agent(
            c, agent_id, account.id, now, paused=body.paused, name=body.name
        )
    )
    if agent is None:
        raise _not_found(agent_id)
    if body.paused is False:
        _wake(rt)
    return agent_view(agent)


@router.delete("/v1/agents/{agent_id}", status_code=204)
async def delete_agent(agent_id: str, account: AccountDep, rt: RuntimeDep) -> Response:
    removed = await rt.store.write(lambda c: agent_repo.remove(c, agent_id, account.id))
    if not removed:
        raise _not_found(agent_id)
    return Response(status_code=204)
