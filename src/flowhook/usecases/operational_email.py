"""The e-mail address an account names for its operational events (besides, or instead
of, the operational webhook): each event is e-mailed there through the account's e-mail
channel adapter (``worker/ops_mail.py``), and the mails sent lately can be listed."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flowhook.domain.account import Account
from flowhook.runtime import Runtime
from flowhook.store import ops_mails as mail_repo

_PART = r"[^@<>,;\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+"
"""A run of anything but ``@``, the list separators, controls and white space, spelled out
rather than written as a class escape: the white space of Python's and pydantic's regular
expressions has U+0085 and U+001C to U+001F, that of ECMA-262 (JSON Schema's, so the
OpenAPI document's) has U+FEFF instead, and this pattern is both the model's rule and the
document's."""
EMAIL_PATTERN = rf"^{_PART}@{_PART}\.{_PART}$"


class OperationalEmailIn(BaseModel):
    """The address that receives the account's operational events; null for none."""

    model_config = ConfigDict(extra="forbid", strict=True)

    email: str | None = Field(max_length=320, pattern=EMAIL_PATTERN)


async def operational_email(rt: Runtime, account: Account) -> str | None:
    return await rt.store.read(lambda c: mail_repo.ops_email(c, account.id))


async def set_operational_email(
    rt: Runtime, account: Account, form: OperationalEmailIn
) -> str | None:
    address = form.email
    await rt.store.write(lambda c: mail_repo.set_ops_email(c, account.id, address))
    return address


async def recent_mails(rt: Runtime, account: Account) -> list[dict[str, Any]]:
    """The account's operational e-mails, newest first: to, type, status, attempts."""
    return await rt.store.read(lambda c: mail_repo.list_for(c, account.id))
