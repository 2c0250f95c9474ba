"""The delivery log: every flow-complete (and fire-and-forget) delivery with its attempts,
and the replay of a finished one — never of one whose attempt is in flight."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Connection

from flowhook.domain.account import Account
from flowhook.errors import Code, Conflict, NotFound
from flowhook.runtime import Runtime
from flowhook.store import deliveries as delivery_repo
from flowhook.store import jobs as job_repo
from flowhook.store import webhook_health as health_repo
from flowhook.store.jobs import JobTally
from flowhook.store.notify import Work, notify
from flowhook.usecases.pages import Moment, Page, epoch, page_of, parse_cursor

_ID = r"^[A-Za-z0-9\-]{1,36}$"
"""What execution and webhook ids look like (filters outside it are mistakes, not queries)."""


class DeliveryFilter(BaseModel):
    """Which deliveries to list (newest first), and where the page starts."""

    execution: str | None = Field(None, pattern=_ID, description="an execution's uuid")
    status: Literal["PENDING", "SUCCEEDED", "FAILED"] | None = Field(
        None, description="FAILED: dead letters (out of attempts, or refused)"
    )
    webhook: str | None = Field(None, pattern=_ID, description="a saved webhook's id")
    since: Moment | None = Field(
        None, description="created at or after (ISO 8601 or epoch seconds; UTC if no zone)"
    )
    until: Moment | None = Field(None, description="created before")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = None


def _not_found(delivery_id: str) -> NotFound:
    return NotFound(f"no delivery {delivery_id}", code=Code.DELIVERY_NOT_FOUND)


async def list_page(rt: Runtime, account: Account, filters: DeliveryFilter) -> Page[dict[str, Any]]:
    """One page of the account's deliveries (summaries: no request, no attempts)."""
    after = parse_cursor(filters.cursor)
    rows = await rt.store.read(
        lambda c: delivery_repo.list_for(
            c,
            account.id,
            execution=filters.execution,
            status=filters.status,
            webhook=filters.webhook,
            since=epoch(filters.since),
            until=epoch(filters.until),
            limit=filters.limit + 1,
            after=after,
        )
    )
    return page_of(rows, filters.limit, lambda r: (r["created_at"], r["id"]))


async def get(rt: Runtime, account: Account, delivery_id: str) -> dict[str, Any]:
    """A delivery with its request and every attempt made, replays included."""
    found = await rt.store.read(lambda c: delivery_repo.view(c, account.id, delivery_id))
    if found is None:
        raise _not_found(delivery_id)
    return found


async def replay(rt: Runtime, account: Account, delivery_id: str) -> None:
    """Send a SUCCEEDED or FAILED delivery again, from the start of its schedule and with
    the same webhook-id. A PENDING one is refused (DELIVERY_IN_FLIGHT): its attempt in
    flight (or scheduled) must not get a twin."""
    now = rt.now()

    def write(conn: Connection) -> str | None:
        """None when replayed; else why not: its status, or MISSING (no such delivery)."""
        if delivery_repo.replay(conn, account.id, delivery_id, now):
            notify(conn, Work.DELIVERIES)  # whichever worker is idle sends it
            return None
        return delivery_repo.status_of(conn, account.id, delivery_id) or "MISSING"

    refused = await rt.store.write(write)
    if refused == "MISSING":
        raise _not_found(delivery_id)
    if refused is not None:
        raise Conflict(
            f"delivery {delivery_id} is {refused}: an attempt is in flight or scheduled; "
            "replay it once it has SUCCEEDED or FAILED",
            code=Code.DELIVERY_IN_FLIGHT,
            details={"status": refused},
        )
    rt.deliveries.nudge()


async def counts(rt: Runtime) -> dict[str, int]:
    """Deliveries by status, every account's (the operator's metrics)."""
    return await rt.store.read(delivery_repo.counts)


@dataclass(frozen=True)
class WebhookGauges:
    """What ``/metrics`` shows of every account's webhooks, read at each scrape."""

    pending: list[dict[str, Any]]
    """Per webhook (None: custom targets): pending deliveries and the oldest one's creation."""
    disabled: int
    now: float
    jobs: list[JobTally]
    """Background jobs (recover) by kind and status, with the items they have left."""


async def webhook_gauges(rt: Runtime) -> WebhookGauges:
    def read(conn: Connection) -> WebhookGauges:
        pending = health_repo.pending_by_webhook(conn)
        return WebhookGauges(
            pending, health_repo.disabled_count(conn), rt.now(), job_repo.tally(conn)
        )

    return await rt.store.read(read)
