"""A webhook's recent attempts, for its chart: read through ``(webhook_id, at)``, so the
cost follows the window's rows, never the table's (docs/performance.md). The use case
(``usecases/activity.py``) adds them up.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, select

from flowhook.store.tables import delivery_attempts


class Attempt(NamedTuple):
    at: float
    ok: bool
    duration_ms: float


def attempts_since(conn: Connection, webhook_id: str, since: float) -> list[Attempt]:
    """The webhook's attempts made since ``since``, oldest first (ok: a 2xx answer)."""
    c = delivery_attempts.c
    rows = conn.execute(
        select(c.at, c.error_reason, c.duration_ms)
        .where(c.webhook_id == webhook_id, c.at >= since)
        .order_by(c.at)
    )
    return [Attempt(r[0], r[1] is None, r[2]) for r in rows]
