"""Internal webhooks: platform functions a flow calls through the webhook widget
(``createOutbound``, ``shortURL``, ``updateUserPreferences``, ``updatePauseStatusForCLI``).

A saved webhook whose URL path is ``/centraloutboundwebhook-v1/{prod|test}/`` makes the
widget dispatch its ``method`` here, in-process.
"""

from __future__ import annotations

import re
from typing import Any

from flowhook.engine.context import StepContext
from flowhook.errors import FlowhookError

INTERNAL_PATH = re.compile(r"/centraloutboundwebhook-v1/(prod|test)/?$")
METHOD_NAMES = ("createOutbound", "shortURL", "updateUserPreferences", "updatePauseStatusForCLI")


class InternalMethodError(FlowhookError):
    """An internal method failed; ``code`` becomes ``$flow.key.error_reason``."""

    code = "INTERNAL_METHOD_FAILED"
    status = 422


async def invoke(method: str, ctx: StepContext, stage: str) -> dict[str, Any]:
    """Run an internal method; return the variables it set (names with ``$``)."""
    raise InternalMethodError(f"unknown internal method {method!r}", code="UNKNOWN_METHOD")
