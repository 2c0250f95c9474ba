"""The delivery log's rules, called straight on a Runtime on SQLite and PostgreSQL: a
replay never puts a second attempt beside one in flight, an account sees only its own
deliveries, and the list pages newest first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from flowhook.domain.account import Account
from flowhook.domain.message import AttemptRecord, OutgoingRequest
from flowhook.errors import BadRequest, Conflict, NotFound
from flowhook.runtime import Runtime
from flowhook.store import deliveries as delivery_repo
from flowhook.usecases import deliveries
from flowhook.usecases.deliveries import DeliveryFilter
from support.receiver import receiver

MakeAccount = Callable[..., Awaitable[Account]]
NOW = 1_700_000_000.0
FAILED_ATTEMPT: AttemptRecord = {
    "at": NOW,
    "url": None,
    "status_code": 400,
    "duration_ms": 1.0,
    "request_headers": {},
    "response_excerpt": None,
    "error_reason": "CLIENT_ERROR",
    "error_message": None,
}


async def add(
    rt: Runtime,
    account: Account,
    delivery_id: str,
    *,
    url: str = "https://crm.example.com/in",
    created_at: float = NOW,
    execution: str | None = None,
    failed: bool = False,
) -> None:
    """A delivery as the outbox stores one; ``failed``: dead-lettered by a 400 (one attempt)."""

    def write(conn: Any) -> None:
        delivery_repo.insert(
            conn,
            delivery_id=delivery_id,
            account_id=account.id,
            execution_uuid=execution,
            webhook_id=None,
            endpoint="crm.example.com:443",
            request=OutgoingRequest("POST", url, {}, b'{"event": "flow.completed"}', 5.0),
            secret_headers=None,
            due_at=created_at + 3600,  # later than the test: no worker picks it up meanwhile
            lease_owner=None,
            lease_until=None,
            now=created_at,
        )
        if failed:
            delivery_repo.record_attempt(
                conn,
                delivery_id,
                attempt=FAILED_ATTEMPT,
                status=delivery_repo.FAILED,
                next_due=None,
                now=created_at,
            )

    await rt.store.write(write)


async def test_a_pending_delivery_is_not_replayed(rt: Runtime, make_account: MakeAccount) -> None:
    acme = await make_account()
    await add(rt, acme, "d-1")
    before = await deliveries.get(rt, acme, "d-1")

    with pytest.raises(Conflict) as raised:
        await deliveries.replay(rt, acme, "d-1")

    assert raised.value.code == "DELIVERY_IN_FLIGHT"
    assert raised.value.details == {"status": "PENDING"}
    assert await deliveries.get(rt, acme, "d-1") == before


async def test_a_dead_letter_is_replayed_once_from_the_start_of_its_schedule(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme = await make_account()
    await add(rt, acme, "d-1", failed=True)
    rt.services.clock = lambda: NOW + 500

    await deliveries.replay(rt, acme, "d-1")

    replayed = await deliveries.get(rt, acme, "d-1")
    assert replayed["status"] == "PENDING"
    assert (replayed["next_attempt_at"], replayed["finished_at"]) == (NOW + 500, None)
    assert [a["status_code"] for a in replayed["attempts"]] == [400]  # the log is kept
    with pytest.raises(Conflict) as raised:  # now its attempt is due: no second replay
        await deliveries.replay(rt, acme, "d-1")
    assert raised.value.code == "DELIVERY_IN_FLIGHT"


async def test_a_replayed_delivery_is_sent_again_with_its_webhook_id(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme = await make_account(http_enabled=True)
    async with receiver() as rec:
        await add(rt, acme, "d-1", url=rec.url, created_at=rt.now(), failed=True)
        await rt.start(worker=True)
        await deliveries.replay(rt, acme, "d-1")
        [sent] = await rec.wait_for(1)
    assert sent.headers["webhook-id"] == "d-1"
    assert sent.json() == {"event": "flow.completed"}


async def test_another_accounts_delivery_is_not_found(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme, other = await make_account("acme"), await make_account("other")
    await add(rt, acme, "d-1", failed=True)

    for attempt in (
        lambda: deliveries.get(rt, other, "d-1"),
        lambda: deliveries.replay(rt, other, "d-1"),
        lambda: deliveries.replay(rt, acme, "no-such-delivery"),
    ):
        with pytest.raises(NotFound) as raised:
            await attempt()
        assert raised.value.code == "DELIVERY_NOT_FOUND"
    assert (await deliveries.list_page(rt, other, DeliveryFilter())).items == []
    assert (await deliveries.get(rt, acme, "d-1"))["status"] == "FAILED"  # not replayed


async def test_the_list_pages_newest_first_and_filters(
    rt: Runtime, make_account: MakeAccount
) -> None:
    acme = await make_account()
    for i in range(5):
        await add(rt, acme, f"d-{i}", created_at=NOW + i, execution="e-1" if i < 3 else "e-2")
    await add(rt, acme, "d-dead", created_at=NOW - 1, execution="e-2", failed=True)

    pages: list[list[str]] = []
    cursor: str | None = None
    for _ in range(4):  # three pages and the end; a cursor that does not move fails
        page = await deliveries.list_page(rt, acme, DeliveryFilter(limit=2, cursor=cursor))
        pages.append([d["id"] for d in page.items])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == [["d-4", "d-3"], ["d-2", "d-1"], ["d-0", "d-dead"]]

    async def ids(**filters: Any) -> list[str]:
        page = await deliveries.list_page(rt, acme, DeliveryFilter(**filters))
        return [d["id"] for d in page.items]

    assert await ids(execution="e-2") == ["d-4", "d-3", "d-dead"]
    assert await ids(status="FAILED") == ["d-dead"]
    assert await ids(status="PENDING", limit=1) == ["d-4"]
    with pytest.raises(BadRequest) as raised:
        await deliveries.list_page(rt, acme, DeliveryFilter(cursor="not-a-cursor"))
    assert raised.value.code == "INVALID_CURSOR"
