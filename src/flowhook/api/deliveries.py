"""The delivery log as an API: every flow-complete (and fire-and-forget) delivery with its
attempts, and replay of a dead letter. The rules are the use cases'
(``usecases/deliveries.py``); this router parses, calls one, and renders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.openapi import error_responses
from flowhook.usecases import deliveries
from flowhook.usecases.deliveries import DeliveryFilter

router = APIRouter()


@router.get("/v1/deliveries", responses=error_responses(400, 422))
async def list_deliveries(
    account: AccountDep, rt: RuntimeDep, filters: Annotated[DeliveryFilter, Query()]
) -> dict[str, Any]:
    page = await deliveries.list_page(rt, account, filters)
    return {"deliveries": page.items, "next_cursor": page.next_cursor}


@router.get("/v1/deliveries/{delivery_id}")
async def get_delivery(delivery_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    return await deliveries.get(rt, account, delivery_id)


@router.post("/v1/deliveries/{delivery_id}/replay", status_code=202, responses=error_responses(409))
async def replay_delivery(delivery_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """Replay a SUCCEEDED or FAILED delivery; a PENDING one is refused with 409: its attempt
    in flight (or scheduled) must not get a twin."""
    await deliveries.replay(rt, account, delivery_id)
    return {"id": delivery_id, "status": "PENDING"}
