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
from flowhook.engine.steps import WidgetLog
from flowhook.errors import Code
from flowhook.settings import Settings

T = TypeVar("T")

READ_ONLY_PREFIXES = ("call.", "sys.")


@dataclass(frozen=True)
class WidgetSettings:
    """The settings a widget (or an internal method it calls) may read, as ``ctx.settings``:
    what shapes its behaviour, never the database URL, the secret key or the operator token.
    A widget that needs another setting adds it here, in one place."""

    response_raw_max_chars: int
    response_map_max_depth: int
    response_map_max_bytes: int
    short_code_length: int
    base_url: str
    time_scale: float

    @classmethod
    def of(cls, settings: Settings) -> WidgetSettings:
        return cls(
            response_raw_max_chars=settings.response_raw_max_chars,
            response_map_max_depth=settings.response_map_max_depth,
            response_map_max_bytes=settings.response_map_max_bytes,
            short_code_length=settings.short_code_length,
            base_url=settings.base_url,
            time_scale=settings.time_scale,
        )

    def scaled(self, seconds: float) -> float:
        """A wait as it is really slept (tests compress time with ``time_scale``)."""
        return seconds * self.time_scale


@dataclass
class Services:
    """Everything the outer layers lend to widgets, found by type. ``settings`` is for the
    engine that runs them; widgets see ``widget_settings`` (``ctx.settings``)."""

    settings: Settings
    clock: Callable[[], float] = time.time
    resources: dict[type, Any] = field(default_factory=dict)
    widget_settings: WidgetSettings = field(init=False)

    def __post_init__(self) -> None:
        self.widget_settings = WidgetSettings.of(self.settings)

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
        self.settings = services.widget_settings
        self.changed: dict[str, Any] = {}
        self.warnings: list[str] = []
        self.log: WidgetLog = {}  # extra step-log data (request sent, response received)

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

            raise WidgetError(f"${key} is read-only", code=Code.READ_ONLY_VARIABLE)
        self.state.variables[key] = value
        self.changed[f"${key}"] = value

    def put(self, key: str, value: Any) -> None:
        """Write a variable named without ``$`` that the caller knows is writable (a
        widget's own result names): ``set`` without its checks, for the hot path."""
        self.state.variables[key] = value
        self.changed["$" + key] = value

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
