"""Claims with a lease: only due work whose lease is free or expired, never the same row
to two claimers, renewals only by the owner, each claim counted until a save, and the
paginated listing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select

from flowhook.engine.state import ExecutionState, Status
from flowhook.settings import Settings
from flowhook.store import executions as execution_repo
from flowhook.store.db import Store, make_engine
from flowhook.store.tables import accounts, executions

NOW = 1_700_000_000.0
MakeState = Callable[..., ExecutionState]


def insert(
    store: Store,
    states: list[ExecutionState],
    *,
    due_at: float | None,
    owner: str | None = None,
    lease_until: float | None = None,
) -> None:
    def write(c: Connection) -> None:
        ensure_accounts(c, {s.account_id for s in states})
        execution_repo.insert_many(
            c, states, due_at=due_at, lease_owner=owner, lease_until=lease_until, now=NOW
        )

    store.write_sync(write)


def ensure_accounts(conn: Connection, account_ids: set[str]) -> None:
    """Executions always belong to an account (claims are shared out per account)."""
    for account_id in account_ids:
        if conn.execute(select(accounts.c.id).where(accounts.c.id == account_id)).first() is None:
            conn.execute(
                accounts.insert().values(
                    id=account_id,
                    name=account_id,
                    api_key_hash=account_id.ljust(64, "0"),
                    http_enabled=False,
                    ip_whitelist=[],
                    default_region="IN",
                    timezone="UTC",
                    signing_secret=b"-",
                    short_token=account_id,
                    created_at=NOW,
                )
            )


def claim(store: Store, owner: str, now: float = NOW, limit: int = 100) -> set[str]:
    claimed = store.write_sync(lambda c: execution_repo.claim_due(c, owner, now, now + 30, limit))
    return {s.uuid for s, _ in claimed}


def test_claim_takes_only_due_unleased_or_expired_rows(store: Store, make_state: MakeState) -> None:
    due, expired = make_state(), make_state()
    future, leased, finished = make_state(), make_state(), make_state()
    insert(store, [due], due_at=NOW - 5)
    insert(store, [expired], due_at=NOW - 5, owner="dead", lease_until=NOW - 1)
    insert(store, [future], due_at=NOW + 60)
    insert(store, [leased], due_at=NOW - 5, owner="alive", lease_until=NOW + 10)
    insert(store, [finished], due_at=None)

    assert claim(store, "me") == {due.uuid, expired.uuid}
    assert claim(store, "other") == set()  # now leased by "me"
    # once the lease of "alive" runs out and the future row is due, both can be taken
    assert claim(store, "other", now=NOW + 61) == {due.uuid, expired.uuid, future.uuid, leased.uuid}


def test_claim_returns_the_stored_state(store: Store, make_state: MakeState) -> None:
    state = make_state(status=Status.WAITING, cursor="wait", wake_at=NOW)
    state.variables["flow.key.x"] = "kept"
    insert(store, [state], due_at=NOW)
    [(claimed, _)] = store.write_sync(
        lambda c: execution_repo.claim_due(c, "me", NOW, NOW + 30, 10)
    )
    assert claimed == state


def test_claim_respects_the_limit_and_takes_the_earliest_first(
    store: Store, make_state: MakeState
) -> None:
    states = [make_state() for _ in range(10)]
    for offset, state in enumerate(states):
        insert(store, [state], due_at=NOW - 100 + offset)
    assert claim(store, "me", limit=3) == {s.uuid for s in states[:3]}
    assert claim(store, "me", limit=3) == {s.uuid for s in states[3:6]}


def test_renew_extends_only_the_owners_leases(store: Store, make_state: MakeState) -> None:
    mine, theirs = make_state(), make_state()
    insert(store, [mine], due_at=NOW, owner="me", lease_until=NOW + 1)
    insert(store, [theirs], due_at=NOW, owner="them", lease_until=NOW + 1)
    renewed = store.write_sync(
        lambda c: execution_repo.renew(c, "me", [mine.uuid, theirs.uuid], NOW + 100)
    )
    assert renewed == 1
    # at NOW + 50 only "them"'s lease has run out
    assert claim(store, "thief", now=NOW + 50) == {theirs.uuid}


def test_release_all_frees_the_owners_leases(store: Store, make_state: MakeState) -> None:
    mine = make_state()
    insert(store, [mine], due_at=NOW, owner="me", lease_until=NOW + 100)
    store.write_sync(lambda c: execution_repo.release_all(c, "me"))
    assert claim(store, "next") == {mine.uuid}


def test_save_moves_the_due_time_and_a_finished_row_is_never_claimed(
    store: Store, make_state: MakeState
) -> None:
    state = make_state()
    insert(store, [state], due_at=NOW, owner="me", lease_until=NOW + 30)
    state.status = Status.COMPLETED
    store.write_sync(
        lambda c: execution_repo.save(
            c, state, due_at=None, lease_owner=None, lease_until=None, now=NOW
        )
    )
    assert claim(store, "other", now=NOW + 1000) == set()
    stored = store.read_sync(lambda c: execution_repo.get(c, state.uuid))
    assert stored is not None and stored.status == Status.COMPLETED


def claims_of(store: Store, owner: str, now: float) -> dict[str, int]:
    """Claim what is due at ``now``: uuid → its claims since it last made progress."""
    claimed = store.write_sync(lambda c: execution_repo.claim_due(c, owner, now, now + 30, 100))
    return {s.uuid: claims for s, claims in claimed}


def stored_claims(store: Store, uuid: str) -> int:
    query = select(executions.c.claims).where(executions.c.uuid == uuid)
    return int(store.read_sync(lambda c: c.execute(query).scalar_one()))


def save(store: Store, state: ExecutionState, holder: str, now: float) -> bool:
    return store.write_sync(
        lambda c: execution_repo.save(
            c, state, due_at=now, lease_owner=holder, lease_until=now + 30, now=now, holder=holder
        )
    )


def test_each_claim_counts_until_a_save_shows_progress(store: Store, make_state: MakeState) -> None:
    state = make_state()
    insert(store, [state], due_at=NOW)
    assert stored_claims(store, state.uuid) == 0  # accepted, never claimed
    # claimed; the worker dies; its lease runs out; claimed again …
    assert claims_of(store, "w1", NOW) == {state.uuid: 1}
    assert claims_of(store, "w2", NOW + 31) == {state.uuid: 2}
    assert claims_of(store, "w3", NOW + 62) == {state.uuid: 3}
    # … until the owner saves (a checkpoint, a wait, the end): the count starts again
    assert save(store, state, "w3", NOW + 63)
    assert stored_claims(store, state.uuid) == 0
    assert claims_of(store, "w4", NOW + 94) == {state.uuid: 1}


def test_a_save_without_the_lease_keeps_the_count(store: Store, make_state: MakeState) -> None:
    state = make_state()
    insert(store, [state], due_at=NOW)
    claims_of(store, "w1", NOW)
    claims_of(store, "w2", NOW + 31)  # took it over from w1, which paused past its lease
    assert not save(store, state, "w1", NOW + 32)
    assert stored_claims(store, state.uuid) == 2


def test_renewing_a_lease_is_not_a_claim(store: Store, make_state: MakeState) -> None:
    state = make_state()
    insert(store, [state], due_at=NOW)
    claims_of(store, "w1", NOW)
    store.write_sync(lambda c: execution_repo.renew(c, "w1", [state.uuid], NOW + 100))
    assert stored_claims(store, state.uuid) == 1
    assert claims_of(store, "w2", NOW + 101) == {state.uuid: 2}


def claim_until_empty(
    engine: Engine, owner: str, barrier: threading.Barrier, got: list[str]
) -> None:
    """Claim small batches until nothing is due, as a worker's claim loop does."""
    barrier.wait()
    while True:
        with engine.begin() as conn:
            rows = execution_repo.claim_due(conn, owner, NOW, NOW + 30, 7)
        if not rows:
            return
        got.extend(s.uuid for s, _ in rows)


@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_two_concurrent_claimers_never_get_the_same_row(
    postgres_url: str, tmp_path: Path, make_state: MakeState
) -> None:
    store = Store(Settings(database_url=postgres_url, data_dir=tmp_path))
    engines = [make_engine(postgres_url, pool_size=1) for _ in range(2)]
    try:
        for round_ in range(5):
            states = [make_state() for _ in range(120)]
            insert(store, states, due_at=NOW)
            got: list[list[str]] = [[], []]
            barrier = threading.Barrier(2)
            with ThreadPoolExecutor(2) as pool:
                futures = [
                    pool.submit(claim_until_empty, engines[i], f"w{i}-{round_}", barrier, got[i])
                    for i in range(2)
                ]
                for future in futures:
                    future.result(timeout=60)
            first, second = set(got[0]), set(got[1])
            assert len(first) == len(got[0]) and len(second) == len(got[1])
            assert not first & second
            assert first | second == {s.uuid for s in states}
    finally:
        for engine in engines:
            engine.dispose()
        store.close()


def page_through(store: Store, account_id: str, limit: int, **filters: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    after: tuple[float, str] | None = None
    while True:
        rows = store.read_sync(
            partial(
                execution_repo.list_for, account_id=account_id, limit=limit, after=after, **filters
            )
        )
        if not rows:
            return pages
        pages.append([r.uuid for r in rows])
        cursor = execution_repo.encode_cursor(rows[-1].created_at, rows[-1].uuid)
        after = execution_repo.decode_cursor(cursor)


def test_the_cursor_pages_through_every_row_newest_first(
    store: Store, make_state: MakeState
) -> None:
    # 12 executions, several created in the same instant (ties broken by uuid)
    states = [make_state(created_at=NOW + i // 3) for i in range(12)]
    insert(store, states, due_at=None)
    insert(store, [make_state(account_id="acct-b")], due_at=None)
    pages = page_through(store, "acct-a", limit=5)
    assert [len(p) for p in pages] == [5, 5, 2]
    listed = [uuid for page in pages for uuid in page]
    expected = sorted(states, key=lambda s: (s.created_at, s.uuid), reverse=True)
    assert listed == [s.uuid for s in expected]


def test_the_listing_filters_by_flow_and_status(store: Store, make_state: MakeState) -> None:
    done = make_state(flow_id="flowAAAA", status=Status.COMPLETED, created_at=NOW)
    waiting = make_state(flow_id="flowAAAA", status=Status.WAITING, created_at=NOW + 1)
    other = make_state(flow_id="flowBBBB", status=Status.COMPLETED, created_at=NOW + 2)
    insert(store, [done, waiting, other], due_at=None)

    def listed(**filters: Any) -> list[str]:
        def query(c: Connection) -> list[str]:
            return [r.uuid for r in execution_repo.list_for(c, "acct-a", **filters)]

        return store.read_sync(query)

    assert listed(flow_id="flowAAAA") == [waiting.uuid, done.uuid]
    assert listed(status="COMPLETED") == [other.uuid, done.uuid]
    assert listed(flow_id="flowAAAA", status="COMPLETED") == [done.uuid]


def test_a_full_batch_is_shared_between_the_accounts_with_due_work(
    store: Store, make_state: MakeState
) -> None:
    """More due than the batch holds: the quiet account's one execution, due after the
    campaign's, is in this claim all the same."""
    campaign = [make_state(account_id="acct-big") for _ in range(10)]
    for offset, state in enumerate(campaign):
        insert(store, [state], due_at=NOW - 100 + offset)
    quiet = make_state(account_id="acct-small")
    insert(store, [quiet], due_at=NOW - 1)
    claimed = claim(store, "me", limit=4)
    assert claimed == {quiet.uuid, campaign[0].uuid, campaign[1].uuid}  # 4 // 2 accounts each


def test_what_fits_in_the_batch_is_all_taken(store: Store, make_state: MakeState) -> None:
    due = [make_state(account_id=f"acct-{n % 3}") for n in range(7)]
    for offset, state in enumerate(due):
        insert(store, [state], due_at=NOW - 100 + offset)
    assert claim(store, "me", limit=8) == {s.uuid for s in due}
