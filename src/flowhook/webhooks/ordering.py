"""Ordered delivery (opt-in per saved webhook): deliveries with the same key are sent one
at a time, in creation order.

A webhook may be ordered by the contact number of the execution, by the execution itself,
or by the value of a flow variable. Each of its deliveries then gets that value as its
``order_key`` and a ``sequence`` (1, 2, … per webhook and key, given when it is created:
``store/deliveries.insert``), which the receiver gets in the ``webhook-sequence`` header.
A delivery is claimed only when no earlier delivery of its key is still pending (being
sent, or waiting for a retry): a failing one holds back the later ones of its key, and
only of its key (``store/webhook_limits.py``: an ordered webhook is claimed through its
limiter row). When one is dead-lettered the next goes out, with the dead one's id in the
``webhook-released-after`` header: the receiver knows which one it will not get.

A delivery whose key is empty (no contact number, the variable unset) is not ordered.
"""

from __future__ import annotations

from typing import Any, Literal

from flowhook.engine.templating import MISSING, Lookup
from flowhook.store.deliveries import Delivery
from flowhook.store.webhooks import SavedWebhook

OrderedBy = Literal["contact", "execution", "variable"]
CONTACT, EXECUTION, VARIABLE = "contact", "execution", "variable"
SEQUENCE_HEADER = "webhook-sequence"
RELEASED_HEADER = "webhook-released-after"
KEY_CHARS = 200
"""A longer key is cut to this length (two keys that share it are ordered as one)."""


def key_text(value: Any) -> str | None:
    """A key as stored: text without NUL (PostgreSQL refuses it), at most ``KEY_CHARS``;
    None when there is no key."""
    if value is None or value is MISSING:
        return None
    text = (value if isinstance(value, str) else str(value)).replace("\x00", "")[:KEY_CHARS]
    return text or None


def order_key(
    webhook: SavedWebhook | None,
    *,
    execution_uuid: str | None,
    contact: str | None,
    lookup: Lookup | None,
) -> str | None:
    """The key a new delivery to ``webhook`` is ordered by (None: not ordered)."""
    if webhook is None or webhook.ordered_by is None:
        return None
    if webhook.ordered_by == CONTACT:
        return key_text(contact)
    if webhook.ordered_by == EXECUTION:
        return key_text(execution_uuid)
    if webhook.order_variable is None or lookup is None:
        return None
    return key_text(lookup(webhook.order_variable.lstrip("$")))


def headers_of(delivery: Delivery) -> dict[str, str]:
    """The headers an ordered delivery's attempts carry."""
    if delivery.sequence is None:
        return {}
    headers = {SEQUENCE_HEADER: str(delivery.sequence)}
    if delivery.released_after is not None:
        headers[RELEASED_HEADER] = delivery.released_after
    return headers


__all__ = ["OrderedBy", "headers_of", "key_text", "order_key"]
