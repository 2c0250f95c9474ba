"""The worker's cache of flows: another process's publish is seen at once, an edit within
the cache's time to live."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from flowhook.errors import NotFound
from flowhook.settings import Settings
from flowhook.store import accounts as account_repo
from flowhook.store import flows as flow_repo
from flowhook.store.catalog import Catalog
from flowhook.store.db import Store
from flowhook.store.secrets import Cipher

FLOW: dict[str, Any] = {
    "name": "cached",
    "entry": {"start": "a"},
    "widgets": {"a": {"type": "end"}},
}


@pytest.fixture
def store(sqlite_url: str, tmp_path: Path) -> Iterator[Store]:
    store = Store(Settings(database_url=sqlite_url, data_dir=tmp_path))
    try:
        yield store
    finally:
        store.close()


def create_flow(store: Store, tmp_path: Path) -> str:
    cipher = Cipher(Settings(data_dir=tmp_path))
    account, _ = store.write_sync(lambda c: account_repo.create(c, "acme", cipher, time.time()))
    record = store.write_sync(lambda c: flow_repo.create(c, account.id, FLOW, time.time()))
    return record.flow_id


async def test_a_publish_by_another_process_is_seen_at_once(store: Store, tmp_path: Path) -> None:
    flow_id = create_flow(store, tmp_path)
    catalog = Catalog(store, ttl=60)  # a worker's cache, long-lived
    assert (await catalog.flow(flow_id, "test")).document.name == "cached"

    # the API process publishes; this worker's cache still holds the unpublished record
    store.write_sync(lambda c: flow_repo.publish(c, flow_id, owner_of(c, flow_id), time.time()))
    assert (await catalog.flow(flow_id, "prod")).document.name == "cached"


async def test_a_flow_never_published_has_no_prod_version(store: Store, tmp_path: Path) -> None:
    flow_id = create_flow(store, tmp_path)
    catalog = Catalog(store, ttl=60)
    with pytest.raises(NotFound) as caught:
        await catalog.flow(flow_id, "prod")
    assert caught.value.code == "FLOW_VERSION_NOT_FOUND"


async def test_an_unknown_flow_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound) as caught:
        await Catalog(store).flow("nothere", "test")
    assert caught.value.code == "FLOW_NOT_FOUND"


def owner_of(conn: Any, flow_id: str) -> str:
    record = flow_repo.get(conn, flow_id)
    assert record is not None
    return record.account_id


async def test_callers_that_miss_together_share_one_read(store: Store, tmp_path: Path) -> None:
    """When an entry expires under load every trigger in flight misses it at once: they
    wait for one read of the row, not one each (three round trips each on PostgreSQL)."""
    flow_id = create_flow(store, tmp_path)
    account_id = store.read_sync(lambda c: owner_of(c, flow_id))
    catalog = Catalog(store, ttl=60)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", seen)
    flows = await asyncio.gather(*(catalog.flow(flow_id, "test") for _ in range(20)))
    accounts = await asyncio.gather(*(catalog.account(account_id) for _ in range(20)))
    assert {f.document.name for f in flows} == {"cached"}
    assert {a.id for a in accounts} == {account_id}
    assert len([s for s in statements if "FROM flows" in s]) == 1
    assert len([s for s in statements if "FROM accounts" in s]) == 1

    # a change made in this process is seen at once, even with a read in flight
    catalog.forget(flow_id=flow_id)
    reading = asyncio.ensure_future(catalog.flow(flow_id, "test"))
    await asyncio.sleep(0)  # its read is under way
    catalog.forget(flow_id=flow_id)
    store.write_sync(lambda c: flow_repo.publish(c, flow_id, account_id, time.time()))
    assert (await catalog.flow(flow_id, "prod")).document.name == "cached"
    await reading
