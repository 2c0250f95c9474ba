"""``python -m bench.retention_size``: the database's steady-state size under retention.

Simulates ``--days`` days of traffic at ``--flows-per-day`` flows a day, one day at a
time: each day's rows are written as the reference traffic leaves them (an execution of
the reference flow with its step log, its flow-complete delivery with its attempts: one,
or two after a 503, three for a dead letter — the generator of ``bench/seed_scale.py``),
then the retention job (``worker/retention.py``, the real one) runs with its clock at the
end of that day. After the retention period the database stops growing: the script
prints, per simulated day, the rows kept and the database size, and at the end the
steady-state size per 1,000 flows a day.

Every simulated flow has finished by the end of its day (a steady state has no month-old
running execution); the size is the database file's pages in use (``page_count -
freelist_count``, what SQLite would keep after a ``VACUUM``) and the file itself (which
keeps its free pages for later rows), or ``pg_database_size`` on PostgreSQL.

Small scale by default (200 flows a day for a year: 73,000 flows, about a minute on
SQLite); the size of the rows does not depend on the rate, so the figure scales linearly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from bench.seed_scale import Seeder, _write_rows, settings_for
from flowhook.runtime import Runtime
from flowhook.store.tables import deliveries, delivery_attempts, executions
from flowhook.worker.retention import DAY_S, RetentionJob


def _size(conn: Connection) -> dict[str, int]:
    if conn.dialect.name == "sqlite":
        page = int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
        free = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar_one())
        return {"used_bytes": (pages - free) * page, "file_bytes": pages * page}
    used = int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())
    return {"used_bytes": used, "file_bytes": used}


def _rows(conn: Connection) -> dict[str, int]:
    return {
        table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        for table in (executions, deliveries, delivery_attempts)
    }


def _finished(execution: dict[str, Any]) -> dict[str, Any]:
    """The generator's row, finished by the end of its day (``COMPLETED`` unless failed)."""
    if execution["status"] not in ("COMPLETED", "FAILED"):
        execution["status"] = execution["state"]["status"] = "COMPLETED"
        execution["finished_at"] = execution["updated_at"] = execution["created_at"] + 1.5
        execution["due_at"] = None
    return execution


def _day(seeder: Seeder, start: float, flows: int) -> None:
    seeder.start, seeder.now = start, start + DAY_S
    ex_rows, de_rows, at_rows = [], [], []
    for execution in seeder.execution_rows(flows):
        ex_rows.append(_finished(execution))
        for delivery, attempts in seeder.delivery_rows(execution, 1):
            if delivery["status"] == "PENDING":  # its retry succeeded
                delivery.update(status="SUCCEEDED", due_at=None, finished_at=delivery["updated_at"])
            de_rows.append(delivery)
            at_rows.extend(attempts)

    def write(conn: Connection) -> None:
        _write_rows(conn, executions, ex_rows)
        _write_rows(conn, deliveries, de_rows)
        _write_rows(conn, delivery_attempts, at_rows)

    seeder.rt.store.write_sync(write)


async def simulate(url: str, data_dir: Path, *, days: int, per_day: int) -> dict[str, Any]:
    rt = Runtime.build(settings_for(url, data_dir))
    settings = rt.settings
    try:
        seeder = Seeder(rt, days=days, seed=1)
        await seeder.make_accounts()
        first = time.time() - days * DAY_S
        history = []
        started = time.monotonic()
        for day in range(days):
            end = first + (day + 1) * DAY_S
            _day(seeder, first + day * DAY_S, per_day)
            await RetentionJob(rt.store, settings, lambda end=end: end).run_once()
            if (day + 1) % 15 == 0 or day + 1 == days:
                size = rt.store.read_sync(_size)
                history.append({"day": day + 1, **rt.store.read_sync(_rows), **size})
                print(json.dumps(history[-1]), flush=True)
        took = time.monotonic() - started
    finally:
        await rt.stop()
    steady = history[-1]
    per_1000 = 1000 / per_day
    return {
        "engine": "sqlite" if url.startswith("sqlite") else "postgresql",
        "days": days,
        "flows_per_day": per_day,
        "retention_days": settings.retention_days,
        "seconds": round(took, 1),
        "steady_used_mb_per_1000_flows_a_day": round(steady["used_bytes"] * per_1000 / 1e6, 1),
        "steady_file_mb_per_1000_flows_a_day": round(steady["file_bytes"] * per_1000 / 1e6, 1),
        "history": history,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--flows-per-day", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowhook-retention-") as tmp:
        url = args.url or f"sqlite:///{tmp}/flowhook.db"
        out = asyncio.run(simulate(url, Path(tmp), days=args.days, per_day=args.flows_per_day))
    print(json.dumps({k: v for k, v in out.items() if k != "history"}))


if __name__ == "__main__":
    main()
