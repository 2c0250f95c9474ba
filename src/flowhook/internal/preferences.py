"""``updateUserPreferences``: keep an execution's ``$user.key.*`` values for a contact
without a call, so that later executions for that contact, in any flow, start with them
(the runner loads them when an execution with that contact starts)."""

from __future__ import annotations

from typing import Any

from flowhook.domain.numbers import normalise
from flowhook.store import preferences as preference_repo
from flowhook.store.db import Store


async def update(
    store: Store,
    account_id: str,
    contact: str,
    values: dict[str, Any],
    *,
    region: str,
    now: float,
) -> str:
    """Merge ``values`` (names without ``user.key.``) over the contact's stored ones, last
    write wins; return the normalised contact. Raises ``ValidationFailed`` for a number
    that is not one."""
    number = normalise(contact, region)
    await store.write(lambda c: preference_repo.merge(c, account_id, number, values, now))
    return number


async def load(store: Store, account_id: str, contact: str) -> dict[str, Any]:
    return await store.read(lambda c: preference_repo.load(c, account_id, contact))
