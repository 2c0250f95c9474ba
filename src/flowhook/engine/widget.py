"""What a widget is: a class with a ``type`` name, a pydantic config model and an
``async run(ctx)`` that returns an outcome. Widgets register themselves by type; the
engine knows none of them by name (plug-ins, as Home Assistant integrations).
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from flowhook.engine.context import StepContext


class WidgetConfig(BaseModel):
    """Fields every widget has; a widget's own model adds its configuration."""

    model_config = ConfigDict(extra="forbid")

    type: str
    label: str | None = None
    next: str | None = None
    exits: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class Exit:
    """Leave the widget by this exit (``"next"`` for the single next widget)."""

    name: str = "next"


@dataclass(frozen=True)
class Wait:
    """Suspend the execution durably until ``until`` (epoch seconds), then leave by ``exit``."""

    until: float
    exit: str = "next"


Outcome = Exit | Wait

REMOTE_HANGUP = "_remote_hangup"
"""The exit a channel widget takes when it finds that the caller hung up: the engine leaves
the main path for the flow's ``on_remote_hangup`` entry (or ends the phase without one)."""

C = TypeVar("C", bound=WidgetConfig)


class Widget(Generic[C]):
    """Base of every widget. Subclasses set ``type`` and ``Config`` and implement ``run``."""

    type: ClassVar[str]
    Config: ClassVar[builtins.type[WidgetConfig]]
    side_effect: ClassVar[bool] = False
    """True when running it twice is visible outside (HTTP call, SMS…): its outcome is made
    durable before the next side effect starts (or with the wait or end that comes first)."""

    def __init__(self, widget_id: str, config: C) -> None:
        self.id = widget_id
        self.config = config

    @classmethod
    def exit_names(cls, config: C) -> set[str]:
        """The exits this widget may take besides ``next`` (used to validate ``exits``)."""
        return set()

    async def run(self, ctx: StepContext) -> Outcome:
        raise NotImplementedError


_REGISTRY: dict[str, type[Widget[Any]]] = {}

W = TypeVar("W", bound=type[Widget[Any]])


def register(cls: W) -> W:
    """Class decorator: make a widget available to flows under its ``type``."""
    _REGISTRY[cls.type] = cls
    return cls


def widget_class(type_name: str) -> type[Widget[Any]] | None:
    load_plugins()
    return _REGISTRY.get(type_name)


def widget_types() -> list[str]:
    load_plugins()
    return sorted(_REGISTRY)


PLUGIN_MODULES: list[str] = ["flowhook.widgets"]
"""Packages whose import registers widgets; the widgets package imports its modules."""
_loaded = False


def load_plugins(modules: Iterable[str] | None = None) -> None:
    global _loaded
    if _loaded and modules is None:
        return
    for name in modules or PLUGIN_MODULES:
        importlib.import_module(name)
    _loaded = True
