"""Direct-dial agents over HTTP (``/v1/agents``), over :mod:`flowhook.usecases.agents`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.openapi import error_responses
from flowhook.domain.agent import Agent
from flowhook.usecases import agents
from flowhook.usecases.agents import AgentPatch, NewAgent

router = APIRouter()


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


@router.post("/v1/agents", status_code=201, responses=error_responses(409))
async def create_agent(body: NewAgent, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return agent_view(await agents.create(rt, account, body))


@router.get("/v1/agents")
async def list_agents(account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return {"agents": [agent_view(a) for a in await agents.list_all(rt, account)]}


@router.get("/v1/agents/{agent_id}")
async def get_agent(agent_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return agent_view(await agents.get(rt, account, agent_id))


@router.patch("/v1/agents/{agent_id}")
async def patch_agent(
    agent_id: str, body: AgentPatch, account: AccountDep, rt: RuntimeDep
) -> dict[str, Any]:
    return agent_view(await agents.update(rt, account, agent_id, body))


@router.delete("/v1/agents/{agent_id}", status_code=204)
async def delete_agent(agent_id: str, account: AccountDep, rt: RuntimeDep) -> Response:
    await agents.delete(rt, account, agent_id)
    return Response(status_code=204)
