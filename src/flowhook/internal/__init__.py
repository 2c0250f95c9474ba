"""Internal webhooks: platform functions a flow calls through the webhook widget
(``createOutbound``, ``shortURL``, ``updateUserPreferences``, ``updatePauseStatusForCLI``),
and the services behind them — the outbound create logic, the URL shortener, user
preferences and the direct-dial agents' dialer.

The webhook widget calls ``invoke(method, ctx, stage)`` in-process when its target URL's
path matches ``INTERNAL_PATH``; the same methods are served over HTTP at
``POST /centraloutboundwebhook-v1/{prod|test}/``.
"""

from flowhook.internal.methods import INTERNAL_PATH, METHOD_NAMES, InternalMethodError, invoke

__all__ = ["INTERNAL_PATH", "METHOD_NAMES", "InternalMethodError", "invoke"]
