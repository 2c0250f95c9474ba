"""An account's channel settings on their own: which adapter carries voice, SMS and e-mail,
and each adapter's settings (``GET``/``PUT /v1/account/channels`` and the console's
Settings page, Channels section). The whole account settings (``PUT /v1/account/settings``)
take the same path for their ``channels`` part (:func:`prepare`).

The rules, written once here: every gateway passes the egress guard when saved
(``channels/egress.py``: ``BLOCKED_ADDRESS`` / ``EGRESS_DENIED``); passwords are stored
encrypted and shown as ``***``, and ``***`` sent back keeps the stored one
(``UNKNOWN_SECRET`` when there is none); a saved SMPP account binds at once, not on its
first message.
"""

from __future__ import annotations

from typing import Any

from flowhook.channels.config import ChannelSettings
from flowhook.channels.egress import check_targets
from flowhook.channels.secrets import seal
from flowhook.channels.service import Channels
from flowhook.domain.account import Account
from flowhook.errors import Code, NotFound
from flowhook.runtime import Runtime
from flowhook.store import accounts as account_repo


def shown(account: Account) -> dict[str, Any]:
    """The settings as shown: defaults filled in, passwords ``***``."""
    return ChannelSettings.of(account.channels).model_dump()


def prepare(rt: Runtime, account: Account, form: ChannelSettings) -> dict[str, Any]:
    """The settings to store: gateways checked by the guard, passwords sealed."""
    check_targets(form, rt.settings)
    return seal(form.model_dump(), account.channels, rt.cipher)


def saved(rt: Runtime, account: Account) -> None:
    """After a save: forget the cached account, open the new adapters' connections."""
    rt.catalog.forget(account_id=account.id)
    if rt.runner.local:  # a process that runs flows (not an API-only one)
        rt.services.get(Channels).connect(account)


async def update(rt: Runtime, account: Account, form: ChannelSettings) -> Account:
    """Replace the account's channel settings (its other settings are left alone)."""
    values = prepare(rt, account, form)
    updated = await rt.store.write(
        lambda c: account_repo.update_settings(c, account.id, channels=values)
    )
    if updated is None:
        raise NotFound(f"no account {account.id}", code=Code.ACCOUNT_NOT_FOUND)
    saved(rt, updated)
    return updated


def health(rt: Runtime) -> dict[str, Any]:
    """The long-lived adapter connections of this process (SMPP binds) and their state."""
    return rt.services.get(Channels).health()
