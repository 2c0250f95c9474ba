"""An account (tenant): its settings and what the engine needs of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AccountInfo:
    """The parts of an account that change how a flow runs."""

    id: str
    name: str = ""
    http_enabled: bool = False
    default_region: str = "IN"
    timezone: str = "UTC"
    channels: dict[str, Any] = field(default_factory=dict)
    """The account's channel adapters and their options, as stored (channels/config.py)."""


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    http_enabled: bool = False
    ip_whitelist: list[str] = field(default_factory=list)
    default_region: str = "IN"
    timezone: str = "UTC"
    short_token: str = ""
    short_domain: str | None = None
    channels: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0

    @classmethod
    def from_row(cls, row: Any) -> Account:
        return cls(
            id=row.id,
            name=row.name,
            http_enabled=bool(row.http_enabled),
            ip_whitelist=list(row.ip_whitelist or []),
            default_region=row.default_region,
            timezone=row.timezone,
            short_token=row.short_token,
            short_domain=row.short_domain,
            channels=dict(row.channels or {}),
            created_at=row.created_at,
        )

    def info(self) -> AccountInfo:
        return AccountInfo(
            id=self.id,
            name=self.name,
            http_enabled=self.http_enabled,
            default_region=self.default_region,
            timezone=self.timezone,
            channels=self.channels,
        )
