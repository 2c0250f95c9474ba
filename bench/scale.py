"""``python -m bench.scale sqlite|postgres``: how fast every list, filter, search and detail
read answers with a contact centre's history in the database (1,000,000 executions,
2,000,000 deliveries and their attempts, from ``bench/seed_scale.py``).

Each read is the use case the API and the console call (``usecases/``), on a Runtime that
runs no worker, for the account that holds 90 % of the rows, 50 times with a different
argument each time (a random flow, contact, uuid, webhook, window or page), after 3 warm-up
calls; the time includes the trip to the store's reader thread. Reported: p50 and p99 (of
50 runs, p99 is the slowest but one) in ms, against the 200 ms target.

The plan of every statement a read runs is written next to the figures: SQLite's
``EXPLAIN QUERY PLAN``, PostgreSQL's ``EXPLAIN (ANALYZE, BUFFERS)``, to show which index
each one uses.

``sqlite``: measures the database at ``--db`` (default /tmp/flowhook-scale/flowhook.db),
seeding it first if it holds no executions. ``postgres``: starts the test suite's
throw-away server (``tests/support/postgres.py``: 127.0.0.1, a temporary directory, its
default memory settings), seeds it, measures, and deletes it.

Not a test and not part of ``make bench``: seeding takes minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event, select, text

from bench import seed_scale
from flowhook.domain.account import Account
from flowhook.engine.state import Status
from flowhook.runtime import Runtime
from flowhook.store import accounts as account_repo
from flowhook.store.executions import encode_cursor
from flowhook.store.tables import accounts, deliveries, executions, webhooks
from flowhook.usecases import activity, overview
from flowhook.usecases import deliveries as delivery_cases
from flowhook.usecases import executions as execution_cases
from flowhook.usecases.deliveries import DeliveryFilter
from flowhook.usecases.executions import ExecutionFilter

ROOT = Path(__file__).resolve().parents[1]
RUNS = 50
WARMUP = 3
TARGET_MS = 200.0

Read = Callable[[int], Awaitable[Any]]


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class Samples:
    """Arguments to vary the reads by, picked once (not timed) through the indexes."""

    def __init__(self, conn: Connection, account_id: str, rand: random.Random) -> None:
        c = executions.c
        bounds = conn.execute(
            text("SELECT MIN(created_at), MAX(created_at) FROM executions WHERE account_id = :a"),
            {"a": account_id},
        ).one()
        self.first, self.last = float(bounds[0]), float(bounds[1])
        self.executions: list[Any] = []
        for _ in range(RUNS):
            moment = rand.uniform(self.first, self.last)
            row = conn.execute(
                select(c.uuid, c.contact, c.flow_id, c.request_id, c.created_at)
                .where(c.account_id == account_id, c.created_at >= moment)
                .order_by(c.created_at)
                .limit(1)
            ).one()
            self.executions.append(row)
        d = deliveries.c
        self.deliveries: list[Any] = []
        for row in self.executions:
            found = conn.execute(
                select(d.id, d.execution_uuid).where(
                    d.account_id == account_id, d.execution_uuid == row.uuid
                )
            ).first()
            if found is not None:
                self.deliveries.append(found)
        self.webhooks = [
            r[0]
            for r in conn.execute(select(webhooks.c.id).where(webhooks.c.account_id == account_id))
        ]
        self.times = [rand.uniform(self.first, self.last) for _ in range(RUNS)]

    def window(self, i: int, hours: float) -> dict[str, datetime]:
        return {"since": at(self.times[i]), "until": at(self.times[i] + hours * 3600)}

    def cursor(self, i: int) -> str:
        """A cursor deep in the list: a page at a random point of the month."""
        return encode_cursor(self.times[i], "ffffffff-ffff-4fff-bfff-ffffffffffff")


def reads(rt: Runtime, account: Account, s: Samples) -> dict[str, Read]:
    def ex(**kw: Any) -> Read:
        async def run(i: int) -> Any:
            args = {k: (v(i) if callable(v) else v) for k, v in kw.items()}
            return await execution_cases.list_page(rt, account, ExecutionFilter(**args))

        return run

    def de(**kw: Any) -> Read:
        async def run(i: int) -> Any:
            args = {k: (v(i) if callable(v) else v) for k, v in kw.items()}
            window = args.pop("window", None)
            if window:
                args.update(s.window(i, window))
            return await delivery_cases.list_page(rt, account, DeliveryFilter(**args))

        return run

    def ex_window(hours: float, **kw: Any) -> Read:
        async def run(i: int) -> Any:
            args = {**s.window(i, hours), **kw}
            return await execution_cases.list_page(rt, account, ExecutionFilter(**args))

        return run

    n = len(s.deliveries)
    w = len(s.webhooks)
    return {
        "executions: newest page": ex(),
        "executions: a page deep in the month (cursor)": ex(cursor=s.cursor),
        "executions: by flow": ex(flow_id=lambda i: s.executions[i].flow_id),
        "executions: by status FAILED (5 %)": ex(status=Status.FAILED),
        "executions: by status RUNNING (0.5 %)": ex(status=Status.RUNNING),
        "executions: by contact number": ex(contact=lambda i: s.executions[i].contact),
        "executions: by uuid": ex(uuid=lambda i: s.executions[i].uuid),
        "executions: by request (campaign)": ex(request_id=lambda i: s.executions[i].request_id),
        "executions: time range (1 h)": ex_window(1),
        "executions: time range (1 day) + status FAILED": ex_window(24, status=Status.FAILED),
        "executions: flow + status FAILED": ex(
            flow_id=lambda i: s.executions[i].flow_id, status=Status.FAILED
        ),
        "execution: detail (state and step log)": lambda i: execution_cases.get(
            rt, account, s.executions[i].uuid
        ),
        "deliveries: newest page": de(),
        "deliveries: a page deep in the month (cursor)": de(cursor=s.cursor),
        "deliveries: by status FAILED (2 %)": de(status="FAILED"),
        "deliveries: by status PENDING (1 %)": de(status="PENDING"),
        "deliveries: by webhook": de(webhook=lambda i: s.webhooks[i % w]),
        "deliveries: webhook + status FAILED": de(
            webhook=lambda i: s.webhooks[i % w], status="FAILED"
        ),
        "deliveries: by execution": de(execution=lambda i: s.deliveries[i % n].execution_uuid),
        "deliveries: time range (1 h)": de(window=1),
        "deliveries: webhook + time range (1 day)": de(
            webhook=lambda i: s.webhooks[i % w], window=24
        ),
        "delivery: detail (request and attempts)": lambda i: delivery_cases.get(
            rt, account, s.deliveries[i % n].id
        ),
        "home: last 24 h (executions and deliveries)": lambda i: overview.last_day(rt, account),
        "webhook chart: last 24 h of attempts": lambda i: activity.webhook_activity(
            rt, account, s.webhooks[i % w]
        ),
    }


class Recorder:
    """The statements a read runs (to EXPLAIN them afterwards)."""

    def __init__(self, rt: Runtime) -> None:
        self.statements: list[tuple[str, Any]] = []
        self.on = False

        @event.listens_for(rt.store.engine, "before_cursor_execute")
        def _record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if self.on and not statement.lstrip().upper().startswith("EXPLAIN"):
                self.statements.append((statement, params))


def explain(rt: Runtime, statement: str, params: Any) -> str:
    def run(conn: Connection) -> str:
        if rt.store.is_sqlite:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            return "\n".join(f"  {r[-1]}" for r in rows)
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
        return "\n".join(f"  {r[0]}" for r in rows)

    return rt.store.read_sync(run)


async def measure(
    rt: Runtime, out: Path, label: str, only: list[str] | None = None
) -> list[dict[str, Any]]:
    def biggest(conn: Connection) -> str:
        row = conn.execute(
            text(
                "SELECT account_id FROM executions WHERE created_at >= (SELECT MAX(created_at)"
                " FROM executions) - 3600 GROUP BY account_id ORDER BY COUNT(*) DESC LIMIT 1"
            )
        ).one()
        return str(row[0])

    account_id = rt.store.read_sync(biggest)
    account = rt.store.read_sync(lambda c: account_repo.get(c, account_id))
    assert account is not None
    rand = random.Random(7)
    samples = rt.store.read_sync(lambda c: Samples(c, account_id, rand))
    rows = rt.store.read_sync(
        lambda c: {
            t.name: c.execute(select(text("COUNT(*)")).select_from(t)).scalar_one()
            for t in (accounts, executions, deliveries)
        }
    )
    print(f"{label}: {rows}", file=sys.stderr)
    recorder = Recorder(rt)
    results: list[dict[str, Any]] = []
    plans: list[str] = []
    for name, read in reads(rt, account, samples).items():
        if only and not any(word in name for word in only):
            continue
        for i in range(WARMUP):
            await read(i)
        took: list[float] = []
        for i in range(RUNS):
            started = time.perf_counter()
            await read(i)
            took.append((time.perf_counter() - started) * 1000)
        took.sort()
        p50, p99 = statistics.median(took), took[max(0, int(0.99 * len(took)) - 1)]
        results.append({"read": name, "p50_ms": round(p50, 2), "p99_ms": round(p99, 2)})
        print(f"{name:58s} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms", file=sys.stderr)
        recorder.statements.clear()
        recorder.on = True
        await read(0)
        recorder.on = False
        plans.append(f"## {name}")
        for statement, params in recorder.statements:
            plans.append(" ".join(statement.split()))
            plans.append(explain(rt, statement, params))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"scale-{label}.json").write_text(
        json.dumps({"engine": label, "rows": rows, "runs": RUNS, "results": results}, indent=1)
        + "\n"
    )
    (out / f"scale-{label}-plans.txt").write_text("\n".join(plans) + "\n")
    return results


async def run_engine(url: str, data_dir: Path, label: str, args: argparse.Namespace) -> None:
    rt = Runtime.build(seed_scale.settings_for(url, data_dir))
    try:
        empty = rt.store.read_sync(
            lambda c: c.execute(select(executions.c.uuid).limit(1)).first() is None
        )
    finally:
        await rt.stop()
    if empty:
        seeded = await seed_scale.seed(
            url,
            data_dir,
            executions_n=args.executions,
            deliveries_n=args.deliveries,
            days=args.days,
            seed_n=1,
        )
        print(f"seeded {label}: {seeded}", file=sys.stderr)
    rt = Runtime.build(seed_scale.settings_for(url, data_dir))
    try:
        await measure(rt, args.out, label, args.only)
    finally:
        await rt.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("engine", choices=["sqlite", "postgres"])
    parser.add_argument("--db", type=Path, default=Path("/tmp/flowhook-scale/flowhook.db"))
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--deliveries", type=int, default=2_000_000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--only", nargs="*", help="measure only the reads whose name contains one of these"
    )
    parser.add_argument("--label", default=None, help="name of the results (default: engine)")
    args = parser.parse_args()
    if args.engine == "sqlite":
        args.db.parent.mkdir(parents=True, exist_ok=True)
        label = args.label or "sqlite"
        asyncio.run(run_engine(f"sqlite:///{args.db}", args.db.parent, label, args))
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from support.postgres import PostgresServer

    data_dir = Path("/tmp/flowhook-scale-pg")
    data_dir.mkdir(parents=True, exist_ok=True)
    with PostgresServer() as server:
        url = server.create_database("scale")
        asyncio.run(run_engine(url, data_dir, args.label or "postgres", args))


if __name__ == "__main__":
    main()
