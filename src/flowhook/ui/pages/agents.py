"""The Agents page: the account's direct-dial agents, who is busy (with which
execution), pause and unpause."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from flowhook.ui.app import page_router
from flowhook.ui.render import render
from flowhook.ui.session import VisitorDep, runtime_of
from flowhook.usecases import agents
from flowhook.usecases.agents import AgentPatch

router = page_router()


@router.get("/agents")
async def agents_page(request: Request, visitor: VisitorDep) -> Response:
    found = await agents.list_all(runtime_of(request), visitor.account)
    busy = sum(1 for a in found if a.status == "busy")
    return render(request, "agents.html", title="Agents", agents=found, busy=busy)


async def _pause(request: Request, agent_id: str, visitor: VisitorDep, paused: bool) -> Response:
    await agents.update(runtime_of(request), visitor.account, agent_id, AgentPatch(paused=paused))
    return RedirectResponse("/agents", status_code=303)


@router.post("/agents/{agent_id}/pause")
async def pause(request: Request, agent_id: str, visitor: VisitorDep) -> Response:
    return await _pause(request, agent_id, visitor, True)


@router.post("/agents/{agent_id}/unpause")
async def unpause(request: Request, agent_id: str, visitor: VisitorDep) -> Response:
    return await _pause(request, agent_id, visitor, False)
