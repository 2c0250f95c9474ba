"""A console user: an e-mail address with a role in one account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["admin", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "viewer")


@dataclass(frozen=True)
class User:
    id: str
    account_id: str
    email: str
    role: Role
    created_at: float
    must_change_password: bool = False
    """Signed in with a one-time password: the console asks for a new one before anything."""

    @property
    def is_admin(self) -> bool:
        """Admins change things and see secrets; viewers read, with secrets hidden."""
        return self.role == "admin"
