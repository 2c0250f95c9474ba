"""``$user.key.*`` values kept per account and contact number (last write wins)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from flowhook.store.tables import user_preferences


def load(conn: Connection, account_id: str, contact: str) -> dict[str, Any]:
    row = conn.execute(
        select(user_preferences.c.variables).where(
            user_preferences.c.account_id == account_id, user_preferences.c.contact == contact
        )
    ).first()
    return dict(row[0]) if row else {}


def merge(
    conn: Connection, account_id: str, contact: str, values: dict[str, Any], now: float
) -> None:
    """Write these values over the stored ones (other stored keys are kept)."""
    if not values:
        return
    current = conn.execute(
        select(user_preferences.c.variables)
        .where(user_preferences.c.account_id == account_id, user_preferences.c.contact == contact)
        .with_for_update()
    ).first()
    if current is None:
        conn.execute(
            user_preferences.insert().values(
                account_id=account_id, contact=contact, variables=values, updated_at=now
            )
        )
        return
    merged = {**current[0], **values}
    conn.execute(
        update(user_preferences)
        .where(user_preferences.c.account_id == account_id, user_preferences.c.contact == contact)
        .values(variables=merged, updated_at=now)
    )
