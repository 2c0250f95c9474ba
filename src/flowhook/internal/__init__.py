"""Internal webhooks: platform functions a flow calls through the webhook widget
(``createOutbound``, ``shortURL``, ``updateUserPreferences``, ``updatePauseStatusForCLI``),
and the services behind them — the outbound create logic, the URL shortener, user
preferences and the direct-dial agents' dialer.

The webhook widget calls ``invoke(method, ctx, stage)`` in-process when its target URL's
path matches ``INTERNAL_PATH``; the same methods are served over HTTP at
``POST /centraloutboundwebhook-v1/{prod|test}/``.

The names below come from ``methods.py`` on first use: a runtime imports the package for
its dialer (``plugin.py``), and a process whose flows call no internal webhook (``flowhook
run``) need not load the methods, the outbound logic and the phone-number library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowhook.internal.methods import INTERNAL_PATH, METHOD_NAMES, InternalMethodError, invoke

__all__ = ["INTERNAL_PATH", "METHOD_NAMES", "InternalMethodError", "invoke"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from flowhook.internal import methods

        return getattr(methods, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
