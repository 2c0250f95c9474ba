"""What a running widget sees: the execution's variables, templating that records unknown
references, the account, the clock and the services the outer layers provided.

Widgets never import the store or the API; they ask the context for a resource by type
(``ctx.resource(HttpClient)``), which keeps the engine free of outward dependencies.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flowhook.domain.account import AccountInfo
from flowhook.engine import templating
from flowhook.engine.state import ExecutionState
from flowhook.settings import Settings

T = TypeVar("T")

READ_ONLY_PREFIXES = ("call.", "sys.")


@dataclass(frozen=True)
class ExecutionWakeup:
    """Wakes this process's execution runner when executions were added that are due now or
    after ``delay`` seconds. Lent by processes that run executions; an API-only process has
    none (its workers poll the table). A callable rather than the runner itself, so that
    features that add executions need not import the worker."""

    nudge: Callable[[float], None]


@dataclass
class Services:
    """Everything the outer layers lend to widgets, found by type."""

    settings: Settings
    clock: Callable[[], float] = time.time
    resources: dict[type, Any] = field(default_factory=dict)

    def add(self, resource: Any, kind: type | None = None) -> None:
        self.resources[kind or type(resource)] = resource

    def get(self, kind: type[T]) -> T:
        try:
            return self.resources[kind]  # type: ignore[no-any-return]
        except KeyError:
            raise LookupError(f"no {kind.__name__} configured in this process") from None


class StepContext:
    """One widget run. Records variable changes and warnings for the step log."""

    def __init__(
        self,
        state: ExecutionState,
        widget_id: str,
        account: AccountInfo,
        services: Services,
    ) -> None:
        self.state = state
        self.widget_id = widget_id
        self.account = account
        self.services = services
        self.settings = services.settings
        self.changed: dict[str, Any] = {}
        self.warnings: list[str] = []
        self.log: dict[str, Any] = {}  # extra step-log data (request sent, response received)

    # time ---------------------------------------------------------------------------
    def now(self) -> float:
        return self.services.clock()

    def tz(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.account.timezone)
        except (KeyError, ValueError):
            return ZoneInfo("UTC")

    def local_now(self) -> datetime:
        return datetime.fromtimestamp(self.now(), self.tz())

    # variables ----------------------------------------------------------------------
    def lookup(self, name: str) -> Any:
        """A variable's value by name without ``$``, or ``templating.MISSING``."""
        if name == "sys.datetime":
            return self.local_now().isoformat(timespec="seconds")
        return self.state.variables.get(name, templating.MISSING)

    def get(self, name: str, default: Any = None) -> Any:
        value = self.lookup(strip(name))
        return default if value is templating.MISSING else value

    def set(self, name: str, value: Any) -> None:
        """Write a variable (``$flow.key.x`` or ``flow.key.x``); system facts are read-only."""
        key = strip(name)
        if key.startswith(READ_ONLY_PREFIXES):
            from flowhook.errors import WidgetError

            raise WidgetError(f"${key} is read-only", code="READ_ONLY_VARIABLE")
        self.state.variables[key] = value
        self.changed[f"${key}"] = value

    def set_system(self, name: str, value: Any) -> None:
        """Write a system fact (``$call.*``) — for channel widgets, not for users."""
        key = strip(name)
        self.state.variables[key] = value
        self.changed[f"${key}"] = value

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    # templating ---------------------------------------------------------------------
    def render(self, template: str, escape: templating.Escape = templating.text) -> str:
        rendered = templating.render(template, self.lookup, escape)
        self._note_missing(rendered.missing)
        return rendered.text

    def render_value(self, template: Any) -> Any:
        value, missing = templating.render_value(template, self.lookup)
        self._note_missing(missing)
        return value

    def _note_missing(self, names: list[str]) -> None:
        for name in names:
            message = f"unknown variable ${name} left as written"
            if message not in self.warnings:
                self.warnings.append(message)


def strip(name: str) -> str:
    """``$flow.key.x`` → ``flow.key.x`` (``${…}`` accepted too)."""
    if name.startswith("${") and name.endswith("}"):
        return name[2:-1]
    return name[1:] if name.startswith("$") else name
