"""``python -m bench.seed_scale URL``: a contact centre's months of history in one database,
to measure the lists and detail pages at scale (``bench/scale.py``, docs/performance.md).

Writes, through the store's own tables (``store/tables.py``, migrated by the store):

- 10 accounts (made by the store, with API keys), 5 saved webhooks each; the first
  account is the contact centre and holds 90 % of the rows, the others share the rest;
- ``--executions`` executions (default 1,000,000) over ``--days`` days (default 30) up to
  now, 20 flows per account, campaigns of 1,000 executions under one request id, 200,000
  customer numbers; 93 % COMPLETED, 5 % FAILED, 1.5 % WAITING, 0.5 % RUNNING;
- ``--deliveries`` deliveries (default 2,000,000, two per execution while they last) to
  the account's webhooks; 97 % SUCCEEDED, 2 % FAILED (dead letters), 1 % PENDING;
- their attempts (about 2.2 million): one per success (one in ten after a 503), three
  for a dead letter, one so far for a pending one;
- the roll-up of the last two days (``store/rollup.py``), as the store's writes keep it.

Rows are written in bulk: ``executemany`` on SQLite, ``COPY`` on PostgreSQL, 20,000 per
batch, in creation order (as they would have arrived). Every URL is 127.0.0.1; nothing is
sent (no worker runs). Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Connection, Table

from flowhook.domain.account import Account
from flowhook.runtime import Runtime
from flowhook.settings import Settings
from flowhook.store import accounts as account_repo
from flowhook.store import rollup
from flowhook.store.db import json_dumps
from flowhook.store.raw import Statement
from flowhook.store.tables import deliveries, delivery_attempts, executions
from flowhook.usecases import webhooks
from flowhook.usecases.webhooks import WebhookIn

BATCH = 20_000
ACCOUNTS = 10
WEBHOOKS = 5
FLOWS = 20
CONTACTS = 200_000
CAMPAIGN = 1_000
SECRET_KEY = base64.urlsafe_b64encode(b"flowhook-bench-scale-secret-key!").decode()


def settings_for(url: str, data_dir: Path) -> Settings:
    return Settings(database_url=url, data_dir=data_dir, secret_key=SECRET_KEY)


def _write_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """The rows into ``table`` in one go: ``COPY`` on PostgreSQL, the driver's
    ``executemany`` on SQLite (``store/raw.py``), JSON columns encoded as the store does."""
    if not rows:
        return
    names = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}

    def values(row: dict[str, Any]) -> list[Any]:
        return [json_dumps(row[n]) if n in json_columns else row[n] for n in names]

    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(values(row))
        cursor.close()
    else:
        statement = Statement.insert(table.name, " ".join(names))
        statement.run_many(conn, [dict(zip(names, values(row), strict=True)) for row in rows])


class Seeder:
    def __init__(self, rt: Runtime, *, days: float, seed: int) -> None:
        self.rt = rt
        self.rand = random.Random(seed)
        self.now = time.time()
        self.start = self.now - days * 86400
        self.accounts: list[Account] = []
        self.hooks: dict[str, list[str]] = {}

    async def make_accounts(self) -> None:
        for n in range(ACCOUNTS):
            account, _key = await self.rt.store.write(
                lambda c, n=n: account_repo.create(
                    c, f"scale-{n}", self.rt.cipher, self.now, http_enabled=True
                )
            )
            self.accounts.append(account)
            ids = []
            for w in range(WEBHOOKS):
                form = WebhookIn(
                    name=f"hook-{w}", url=f"http://127.0.0.1:9/hook/{w}", is_default=w == 0
                )
                ids.append((await webhooks.create(self.rt, account, form)).id)
            self.hooks[account.id] = ids

    def _account(self) -> Account:
        if self.rand.random() < 0.9:
            return self.accounts[0]
        return self.accounts[self.rand.randrange(1, ACCOUNTS)]

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rand.getrandbits(128), version=4))

    def execution_rows(self, count: int) -> Iterator[dict[str, Any]]:
        span = self.now - self.start
        request_id = self._uuid()
        for i in range(count):
            if i % CAMPAIGN == 0:
                request_id = self._uuid()
            account = self._account()
            created = self.start + (i + self.rand.random()) * span / count
            roll = self.rand.random()
            status = (
                "COMPLETED"
                if roll < 0.93
                else "FAILED"
                if roll < 0.98
                else "WAITING"
                if roll < 0.995
                else "RUNNING"
            )
            finished = (
                created + self.rand.expovariate(1 / 1.5)
                if status in ("COMPLETED", "FAILED")
                else None
            )
            contact = f"91{9_000_000_000 + self.rand.randrange(CONTACTS)}"
            flow_id = f"f{self.accounts.index(account):02d}{self.rand.randrange(FLOWS):05d}"
            ident = self._uuid()
            error = "DIVISION_BY_ZERO" if status == "FAILED" else None
            state = {
                "uuid": ident,
                "account_id": account.id,
                "flow_id": flow_id,
                "version": "prod",
                "request_id": request_id,
                "flow_name": "notify",
                "status": status,
                "phase": "main",
                "started": True,
                "variables": {
                    "call.dnis.number": contact,
                    "flow.key.customer": "Asha",
                    "flow.key.amount": self.rand.randrange(10_000),
                    "flow.key.order": f"ORD-{i}",
                },
                "steps": [
                    {"widget": "set", "type": "store_variable", "exit": "next", "at": created},
                    {"widget": "call", "type": "webhook", "exit": "success", "at": created},
                    {"widget": "end", "type": "end", "exit": None, "at": finished},
                ],
                "step_count": 3,
                "created_at": created,
                "started_at": created,
                "ended_at": finished,
                "error_reason": error,
                "contact": contact,
            }
            yield {
                "uuid": ident,
                "account_id": account.id,
                "flow_id": flow_id,
                "version": "prod",
                "request_id": request_id,
                "status": status,
                "state": state,
                "due_at": None if finished else created + 3600,
                "lease_owner": None,
                "lease_until": None,
                "created_at": created,
                "updated_at": finished or created,
                "finished_at": finished,
                "error_reason": error,
                "claims": 0,
                "contact": contact,
            }

    def delivery_rows(
        self, execution: dict[str, Any], per_execution: int
    ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        account_id = execution["account_id"]
        for n in range(per_execution):
            webhook_id = self.hooks[account_id][0 if n == 0 else self.rand.randrange(1, WEBHOOKS)]
            created = (execution["finished_at"] or execution["created_at"]) + 0.001 * n
            ident = self._uuid()
            roll = self.rand.random()
            status = "SUCCEEDED" if roll < 0.97 else "FAILED" if roll < 0.99 else "PENDING"
            body = json.dumps({"uuid": execution["uuid"], "status": execution["status"]})
            url = f"http://127.0.0.1:9/hook/{n}"
            attempts: list[dict[str, Any]] = []
            codes = (
                ([503] if self.rand.random() < 0.1 else []) + [200]
                if status == "SUCCEEDED"
                else [500, 500, 400]
                if status == "FAILED"
                else [503]
            )
            at = created
            for number, code in enumerate(codes, 1):
                at += 0.05 if number == 1 else 5.0 * number
                attempts.append(
                    {
                        "delivery_id": ident,
                        "number": number,
                        "at": at,
                        "url": url,
                        "status_code": code,
                        "duration_ms": round(self.rand.lognormvariate(3.5, 0.6), 3),
                        "request_headers": {
                            "webhook-id": ident,
                            "content-type": "application/json",
                        },
                        "response_excerpt": '{"ok": true}' if code == 200 else "unavailable",
                        "error_reason": None
                        if code == 200
                        else ("SERVER_ERROR" if code >= 500 else "CLIENT_ERROR"),
                        "error_message": None,
                        "webhook_id": webhook_id,
                    }
                )
            finished = at if status != "PENDING" else None
            yield (
                {
                    "id": ident,
                    "account_id": account_id,
                    "execution_uuid": execution["uuid"],
                    "webhook_id": webhook_id,
                    "endpoint": "127.0.0.1:9",
                    "request": {
                        "method": "POST",
                        "url": url,
                        "headers": {"content-type": "application/json"},
                        "body": base64.b64encode(body.encode()).decode(),
                        "timeout_s": 10.0,
                    },
                    "secret_headers": None,
                    "status": status,
                    "attempts": len(codes),
                    "due_at": at + 300 if status == "PENDING" else None,
                    "lease_owner": None,
                    "lease_until": None,
                    "last_status_code": codes[-1],
                    "last_error": attempts[-1]["error_reason"],
                    "created_at": created,
                    "updated_at": at,
                    "finished_at": finished,
                    "schedule_started_at": created,
                },
                attempts,
            )

    def roll_up(
        self,
        conn: Connection,
        ex_rows: list[dict[str, Any]],
        de_rows: list[dict[str, Any]],
        at_rows: list[dict[str, Any]],
    ) -> None:
        """Note the last two days' rows in the roll-up, as the store's writes do
        (``store/rollup.py``; ``write_sync`` adds the notes at commit)."""
        recent = self.now - 2 * 86400
        for e in ex_rows:
            if e["created_at"] >= recent:
                rollup.execution_started(conn, e["account_id"], e["created_at"])
            if e["finished_at"] is not None and e["finished_at"] >= recent:
                rollup.execution_finished(
                    conn,
                    e["account_id"],
                    e["finished_at"],
                    completed=e["status"] == "COMPLETED",
                    duration_s=e["finished_at"] - e["created_at"],
                )
        accounts_of: dict[str, tuple[str, str | None]] = {}
        for d in de_rows:
            accounts_of[d["id"]] = (d["account_id"], d["webhook_id"])
            if d["created_at"] >= recent:
                rollup.delivery_created(conn, d["account_id"], d["created_at"])
            if d["finished_at"] is not None and d["finished_at"] >= recent:
                rollup.delivery_finished(
                    conn,
                    d["account_id"],
                    d["webhook_id"],
                    d["finished_at"],
                    succeeded=d["status"] == "SUCCEEDED",
                )
        for a in at_rows:
            if a["at"] >= recent:
                account_id, webhook_id = accounts_of[a["delivery_id"]]
                rollup.attempt(
                    conn,
                    account_id,
                    webhook_id,
                    a["at"],
                    ok=a["error_reason"] is None,
                    duration_ms=a["duration_ms"],
                )

    def fill(self, n_executions: int, n_deliveries: int) -> dict[str, int]:
        per_execution = max(1, -(-n_deliveries // max(n_executions, 1)))
        counts = {"executions": 0, "deliveries": 0, "attempts": 0}
        ex_rows: list[dict[str, Any]] = []
        de_rows: list[dict[str, Any]] = []
        at_rows: list[dict[str, Any]] = []

        def flush(force: bool = False) -> None:
            if not force and len(ex_rows) + len(de_rows) + len(at_rows) < BATCH * 3:
                return

            def write(conn: Connection) -> None:
                if conn.dialect.name == "sqlite":  # the indexes' pages stay in memory
                    conn.exec_driver_sql("PRAGMA cache_size = -1000000")
                _write_rows(conn, executions, ex_rows)
                _write_rows(conn, deliveries, de_rows)
                _write_rows(conn, delivery_attempts, at_rows)
                self.roll_up(conn, ex_rows, de_rows, at_rows)

            self.rt.store.write_sync(write)  # one transaction per batch
            counts["executions"] += len(ex_rows)
            counts["deliveries"] += len(de_rows)
            counts["attempts"] += len(at_rows)
            ex_rows.clear()
            de_rows.clear()
            at_rows.clear()

        left = n_deliveries
        for row in self.execution_rows(n_executions):
            ex_rows.append(row)
            if left > 0:
                for delivery, attempts in self.delivery_rows(row, min(per_execution, left)):
                    de_rows.append(delivery)
                    at_rows.extend(attempts)
                    left -= 1
            flush()
        flush(force=True)
        return counts


async def seed(
    url: str, data_dir: Path, *, executions_n: int, deliveries_n: int, days: float, seed_n: int
) -> dict[str, Any]:
    rt = Runtime.build(settings_for(url, data_dir))
    try:
        seeder = Seeder(rt, days=days, seed=seed_n)
        started = time.monotonic()
        await seeder.make_accounts()
        counts = seeder.fill(executions_n, deliveries_n)
        if not rt.store.is_sqlite:
            rt.store.write_sync(lambda c: c.exec_driver_sql("ANALYZE"))
        took = time.monotonic() - started
    finally:
        await rt.stop()
    return {**counts, "seconds": round(took, 1), "accounts": [a.id for a in seeder.accounts]}


def main() -> None:
    import asyncio

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="database URL (sqlite:///… or postgresql://…)")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/flowhook-scale"))
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--deliveries", type=int, default=2_000_000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    out = asyncio.run(
        seed(
            args.url,
            args.data_dir,
            executions_n=args.executions,
            deliveries_n=args.deliveries,
            days=args.days,
            seed_n=args.seed,
        )
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
