"""Requests over HTTP: the summary of one outbound API call or createOutbound — records
loaded, valid, invalid, completed, completion % and status (the original's Request
Summary), from :func:`flowhook.usecases.outbound.summary`."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.usecases import outbound

router = APIRouter()


@router.get("/v1/requests/{request_id}")
async def get_request(request_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return dataclasses.asdict(await outbound.summary(rt, account, request_id))
