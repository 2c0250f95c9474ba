"""One flow per name in an account, on both engines: writers racing for a name (as two
processes would) leave one flow, and the migration that brings the rule keeps a database
that already breaks it working by renaming the later duplicates."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import select

from flowhook.errors import Conflict
from flowhook.settings import Settings
from flowhook.store import accounts as account_repo
from flowhook.store import flows as flow_repo
from flowhook.store.db import Store, alembic_config, make_engine, upgrade
from flowhook.store.flows import FlowRecord
from flowhook.store.secrets import Cipher
from flowhook.store.tables import accounts, flows

FLOW: dict[str, Any] = {"name": "greet", "entry": {"start": "a"}, "widgets": {"a": {"type": "end"}}}


async def test_writers_racing_for_one_name_leave_one_flow(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    stores = [Store(settings) for _ in range(2)]  # two writer threads, as two processes
    try:
        account, _ = stores[0].write_sync(
            lambda c: account_repo.create(c, "acme", Cipher(settings), time.time())
        )

        def create(name: str) -> Any:
            return lambda c: flow_repo.create(c, account.id, {**FLOW, "name": name}, time.time())

        names = ["greet"] * 20 + ["other"]
        results = await asyncio.gather(
            *(stores[i % 2].write(create(name)) for i, name in enumerate(names)),
            return_exceptions=True,
        )
        listed = stores[0].read_sync(lambda c: flow_repo.list_for(c, account.id))
    finally:
        for store in stores:
            store.close()
    created = [r for r in results if isinstance(r, FlowRecord)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert sorted(r.name for r in created) == ["greet", "other"]
    assert len(refused) == 19 and {r.code for r in refused} == {"FLOW_NAME_TAKEN"}
    assert sorted(r.name for r in listed) == ["greet", "other"]


def test_a_rename_onto_another_flows_name_is_refused(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    store = Store(settings)
    try:
        account, _ = store.write_sync(
            lambda c: account_repo.create(c, "acme", Cipher(settings), time.time())
        )
        first = store.write_sync(lambda c: flow_repo.create(c, account.id, FLOW, time.time()))
        other = {**FLOW, "name": "other"}
        second = store.write_sync(lambda c: flow_repo.create(c, account.id, other, time.time()))
        try:
            store.write_sync(
                lambda c: flow_repo.replace_test(c, second.flow_id, account.id, FLOW, time.time())
            )
        except Conflict as exc:
            assert exc.code == "FLOW_NAME_TAKEN"
        else:
            raise AssertionError("the rename was accepted")
        got = store.read_sync(lambda c: flow_repo.get(c, second.flow_id))
        assert got is not None and got.name == "other"
        # keeping its own name is no conflict
        same = store.write_sync(
            lambda c: flow_repo.replace_test(c, first.flow_id, account.id, FLOW, time.time())
        )
        assert same is not None and same.name == "greet"
    finally:
        store.close()


def flow_row(flow_id: str, account_id: str, name: str, created_at: float, **extra: Any) -> Any:
    doc = {**FLOW, "name": name}
    return {
        "flow_id": flow_id,
        "account_id": account_id,
        "name": name,
        "security_id": flow_id * 8,
        "test_doc": doc,
        "prod_doc": None,
        "published_at": None,
        "created_at": created_at,
        "updated_at": created_at,
        **extra,
    }


def test_the_migration_renames_duplicate_names_and_keeps_the_oldest(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "0002")  # a database from before the rule
    engine = make_engine(database_url, single=True)
    try:
        with engine.begin() as conn:
            for account_id in ("acct-a", "acct-b"):
                conn.execute(
                    accounts.insert().values(
                        id=account_id,
                        name=account_id,
                        api_key_hash=account_id * 4,
                        http_enabled=False,
                        ip_whitelist=[],
                        default_region="IN",
                        timezone="UTC",
                        signing_secret=b"x",
                        short_token=account_id,
                        created_at=1.0,
                    )
                )
            published = {**FLOW, "name": "greet"}
            conn.execute(
                flows.insert(),
                [
                    flow_row("flow0003", "acct-a", "greet", 3.0, prod_doc=published),
                    flow_row("flow0001", "acct-a", "greet", 1.0),
                    flow_row("flow0002", "acct-a", "greet", 2.0),
                    flow_row("flow0004", "acct-a", "greet_2", 0.5),  # the first suffix is taken
                    flow_row("flow0005", "acct-b", "greet", 5.0),  # another account's
                    flow_row("flow0006", "acct-a", "x" * 100, 1.0),
                    flow_row("flow0007", "acct-a", "x" * 100, 2.0),
                ],
            )
        upgrade(database_url)
        with engine.connect() as conn:
            rows = {r.flow_id: r for r in conn.execute(select(flows))}
    finally:
        engine.dispose()
    assert {flow_id: r.name for flow_id, r in rows.items()} == {
        "flow0001": "greet",
        "flow0002": "greet_3",
        "flow0003": "greet_4",
        "flow0004": "greet_2",
        "flow0005": "greet",
        "flow0006": "x" * 100,
        "flow0007": "x" * 98 + "_2",
    }
    # the documents say the same name as the flow
    assert rows["flow0002"].test_doc["name"] == "greet_3"
    assert rows["flow0003"].test_doc["name"] == rows["flow0003"].prod_doc["name"] == "greet_4"
    assert rows["flow0001"].prod_doc is None
