"""Delivery rows as the outbox writes them: inserted once per id (a replayed step or a
re-run completion hook adds nothing), and an attempt moves the row on."""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import Connection

from flowhook.domain.message import AttemptRecord, OutgoingRequest
from flowhook.store import deliveries as delivery_repo
from flowhook.store.db import Store

NOW = 1_700_000_000.0


def insert(conn: Connection, delivery_id: str, **fields: Any) -> bool:
    values: dict[str, Any] = {
        "delivery_id": delivery_id,
        "account_id": "acct-a",
        "execution_uuid": None,
        "webhook_id": None,
        "endpoint": "receiver.example:443",
        "request": OutgoingRequest("POST", "https://receiver.example/hook", {}, b"{}", 5.0),
        "secret_headers": None,
        "due_at": NOW,
        "lease_owner": None,
        "lease_until": None,
        "now": NOW,
        **fields,
    }
    return delivery_repo.insert(conn, **values) is not None


def test_a_delivery_id_is_inserted_once_and_the_second_insert_changes_nothing(
    store: Store,
) -> None:
    first = store.write_sync(lambda c: insert(c, "d-1", endpoint="first:443"))
    again = store.write_sync(lambda c: insert(c, "d-1", endpoint="second:443"))

    assert (first, again) == (True, False)
    row = store.read_sync(lambda c: delivery_repo.get_for_send(c, "d-1"))
    assert row is not None
    assert (row.endpoint, row.status, row.attempts) == ("first:443", "PENDING", 0)


def test_a_duplicate_insert_leaves_the_rest_of_its_transaction_intact(store: Store) -> None:
    store.write_sync(lambda c: insert(c, "d-1"))

    def batch(conn: Connection) -> list[bool]:
        return [insert(conn, "d-1"), insert(conn, "d-2")]

    assert store.write_sync(batch) == [False, True]
    assert store.read_sync(lambda c: delivery_repo.get_for_send(c, "d-2")) is not None


def test_an_attempt_is_logged_with_its_number_and_moves_the_delivery_on(store: Store) -> None:
    store.write_sync(lambda c: insert(c, "d-1"))
    attempt: AttemptRecord = {
        "at": NOW,
        "url": None,
        "status_code": 503,
        "duration_ms": 1.0,
        "request_headers": {},
        "response_excerpt": None,
        "error_reason": "SERVER_ERROR",
        "error_message": None,
    }
    for status, next_due in [("PENDING", NOW + 5), ("SUCCEEDED", None)]:
        store.write_sync(
            partial(
                delivery_repo.record_attempt,
                delivery_id="d-1",
                attempt=attempt,
                status=status,
                next_due=next_due,
                now=NOW,
            )
        )
    row = store.read_sync(lambda c: delivery_repo.get_for_send(c, "d-1"))
    assert row is not None
    assert (row.status, row.attempts) == ("SUCCEEDED", 2)
    view = store.read_sync(lambda c: delivery_repo.view(c, "acct-a", "d-1"))
    assert view is not None
    assert [a["number"] for a in view["attempts"]] == [1, 2]
