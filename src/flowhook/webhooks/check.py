"""The check button: one real request with the configured method, auth and headers and a
sample flow-complete payload marked ``"test": true`` (body type NONE: as JSON, as a real
delivery; a custom body is rendered with the sample's variables); ok means a 2xx within the
timeout."""

from __future__ import annotations

import time
from typing import Any

from flowhook.domain.account import Account
from flowhook.domain.request_spec import RequestSpec
from flowhook.domain.signing import signature_headers
from flowhook.engine.templating import lookup_in
from flowhook.webhooks.client import HttpClient
from flowhook.webhooks.payload import default_payload, sample_state
from flowhook.webhooks.request import build_request


async def check_webhook(
    http: HttpClient,
    account: Account,
    spec: RequestSpec,
    *,
    signing_secret: str,
    password: str | None,
) -> dict[str, Any]:
    """``signing_secret`` is the account's: the caller reads it (this module reads nothing
    stored), so a check is signed exactly as the deliveries are."""
    state = sample_state()
    payload = default_payload(state, test=True, timezone=account.timezone)
    request, _ = build_request(
        spec, lookup_in(state.variables), default_payload=payload, password=password
    )
    request.headers.update(
        signature_headers(
            signing_secret, f"check_{int(time.time() * 1000)}", request.body or b"", time.time()
        )
    )
    result = await http.send(request, http_enabled=account.http_enabled)
    return {
        "ok": result.ok,
        "status_code": result.status,
        "duration_ms": round(result.duration_s * 1000, 3),
        "error_reason": result.error_reason.value if result.error_reason else None,
        "error_message": result.error_message,
        "checked_at": time.time(),
    }
