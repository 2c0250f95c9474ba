"""A call leg as the channel layer stores it (``store.calls``): the numbers, the status,
the simulator's script and the log of what happened on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CallRow:
    id: str
    account_id: str
    execution_uuid: str | None
    adapter: str
    incoming: bool
    cli: str
    dnis: str
    status: str
    script: dict[str, Any] | None
    events: list[dict[str, Any]] = field(default_factory=list)
    hangup_cause: str | None = None
    remote_hangup: bool | None = None
    created_at: float = 0.0
    answered_at: float | None = None
    ended_at: float | None = None

    @classmethod
    def from_row(cls, row: Any) -> CallRow:
        return cls(
            id=row.id,
            account_id=row.account_id,
            execution_uuid=row.execution_uuid,
            adapter=row.adapter,
            incoming=bool(row.incoming),
            cli=row.cli,
            dnis=row.dnis,
            status=row.status,
            script=row.script,
            events=list(row.events or []),
            hangup_cause=row.hangup_cause,
            remote_hangup=row.remote_hangup,
            created_at=row.created_at,
            answered_at=row.answered_at,
            ended_at=row.ended_at,
        )
