"""A direct-dial agent: a person reached on their own number (the CLI), allotted to one
dialer call at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Agent:
    id: str
    account_id: str
    name: str
    cli: str  # normalised: country code + national number
    paused: bool
    busy_with: str | None  # the execution the agent is allotted to
    idle_since: float
    created_at: float

    @property
    def status(self) -> str:
        if self.paused:
            return "paused"
        return "busy" if self.busy_with else "idle"

    @classmethod
    def from_row(cls, row: Any) -> Agent:
        return cls(
            id=row.id,
            account_id=row.account_id,
            name=row.name,
            cli=row.cli,
            paused=bool(row.paused),
            busy_with=row.busy_with,
            idle_since=row.idle_since,
            created_at=row.created_at,
        )
