"""The delivery log: every flow-complete (and fire-and-forget) delivery with its attempts,
and replay of a dead letter."""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import Connection

from flowhook.api.deps import AccountDep, RuntimeDep
from flowhook.api.openapi import error_responses
from flowhook.api.pagination import page_of, parse_cursor
from flowhook.errors import Conflict, NotFound
from flowhook.store import deliveries as delivery_repo
from flowhook.store.notify import notify

router = APIRouter()


@router.get("/v1/deliveries", responses=error_responses(400))
async def list_deliveries(
    account: AccountDep,
    rt: RuntimeDep,
    execution: str | None = None,
    status: Literal["PENDING", "SUCCEEDED", "FAILED"] | None = None,
    webhook: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = None,
) -> dict[str, Any]:
    after = parse_cursor(cursor)
    rows = await rt.store.read(
        lambda c: delivery_repo.list_for(
            c,
            account.id,
            execution=execution,
            status=status,
            webhook=webhook,
            limit=limit + 1,
            after=after,
        )
    )
    page, next_cursor = page_of(rows, limit, lambda r: (r["created_at"], r["id"]))
    return {"deliveries": page, "next_cursor": next_cursor}


@router.get("/v1/deliveries/{delivery_id}")
async def get_delivery(delivery_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    found = await rt.store.read(lambda c: delivery_repo.view(c, account.id, delivery_id))
    if found is None:
        raise NotFound(f"no delivery {delivery_id}", code="DELIVERY_NOT_FOUND")
    return found


@router.post("/v1/deliveries/{delivery_id}/replay", status_code=202, responses=error_responses(409))
async def replay_delivery(delivery_id: str, account: AccountDep, rt: RuntimeDep) -> dict[str, Any]:
    """Replay a SUCCEEDED or FAILED delivery; a PENDING one is refused with 409: its attempt
    in flight (or scheduled) must not get a twin."""

    def replay(conn: Connection) -> str | None:
        if delivery_repo.replay(conn, account.id, delivery_id, time.time()):
            notify(conn)  # whichever worker is idle sends it
            return None
        return delivery_repo.status_of(conn, account.id, delivery_id) or "MISSING"

    refused = await rt.store.write(replay)
    if refused == "MISSING":
        raise NotFound(f"no delivery {delivery_id}", code="DELIVERY_NOT_FOUND")
    if refused is not None:
        raise Conflict(
            f"delivery {delivery_id} is {refused}: an attempt is in flight or scheduled; "
            "replay it once it has SUCCEEDED or FAILED",
            code="DELIVERY_IN_FLIGHT",
            details={"status": refused},
        )
    rt.deliveries.nudge()
    return {"id": delivery_id, "status": "PENDING"}
