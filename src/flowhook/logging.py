"""structlog set-up: console lines for people, JSON lines for machines.

The modules that log do so on failures and rare events only, so they take their logger
from ``get_logger``, which imports structlog on the first message: importing structlog
loads its console renderer with rich's tracebacks and pygments (about 0.1 s of CPU), which
``flowhook run`` and other short commands should not pay for a log line they never write.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowhook.settings import Settings


class LazyLogger:
    """``structlog.get_logger(name)``, fetched when the first message is logged; it then
    behaves exactly like structlog's own (lazy, configuration-following) logger."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        if self._logger is None:
            import structlog

            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, method)


def get_logger(name: str) -> LazyLogger:
    return LazyLogger(name)


def configure(settings: Settings) -> None:
    import structlog

    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(message)s")
    # alembic tells every start which plug-ins it set up and which migrations it checked:
    # noise in front of `make run`'s banner; its warnings still show, and all of it at DEBUG
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=True,
    )
