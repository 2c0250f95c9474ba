"""Channel adapters are plug-ins, as widgets are: one module each, registered by channel
kind (``voice``, ``sms``, ``email``) and name. The engine and the widgets know none of
them; an account's settings name the adapter per channel. Adding a carrier is one new
module plus one name in ``PLUGIN_MODULES`` (docs/channels.md).
"""

from __future__ import annotations

import importlib
from typing import Any, TypeVar

PLUGIN_MODULES: list[str] = [
    "flowhook.channels.simulator",
    "flowhook.channels.smtp",
    "flowhook.channels.http_sms",
    "flowhook.channels.smpp",
]
"""Modules whose import registers adapters."""

_REGISTRY: dict[str, dict[str, type[Any]]] = {"voice": {}, "sms": {}, "email": {}}
_loaded = False

A = TypeVar("A", bound=type[Any])


def register(kind: str, name: str) -> Any:
    """Class decorator: make an adapter available to accounts as ``name`` for ``kind``."""

    def add(cls: A) -> A:
        _REGISTRY[kind][name] = cls
        return cls

    return add


def load_plugins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in PLUGIN_MODULES:
            importlib.import_module(module)


def adapter_class(kind: str, name: str) -> type[Any] | None:
    load_plugins()
    return _REGISTRY.get(kind, {}).get(name)


def adapter_names(kind: str) -> list[str]:
    load_plugins()
    return sorted(_REGISTRY.get(kind, {}))
