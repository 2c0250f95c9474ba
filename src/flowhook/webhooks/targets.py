"""What a delivery keeps of its request, and the request each attempt sends.

A delivery's message (method, body) is fixed when it is created: its ``webhook-id`` names
that message. Where it goes is not, for a saved webhook: each attempt renders the
webhook's *current* URL, query, auth and headers, so fixing a webhook fixes its pending and
dead-lettered deliveries (a retry or a replay goes to the new target). A delivery to a
custom URL (a widget's inline request) keeps the target it was created with.

The stored copy shows secrets as ``***`` (``credentials.py``); what is needed to send
is kept encrypted apart, in the row's ``secret_headers``: a custom target's secret headers
and real URL, or the execution's values of the variables a saved webhook's target uses.
"""

from __future__ import annotations

import json
from typing import Any

from flowhook.domain.credentials import redact_headers, redact_url, secret_headers
from flowhook.domain.message import OutgoingRequest
from flowhook.domain.request_spec import RequestSpec
from flowhook.engine.templating import MISSING, Lookup, lookup_in
from flowhook.store.deliveries import Delivery
from flowhook.store.secrets import Cipher
from flowhook.webhooks.request import build_target, target_references


def stored_form(
    request: OutgoingRequest,
    cipher: Cipher,
    *,
    target: RequestSpec | None = None,
    lookup: Lookup | None = None,
) -> tuple[OutgoingRequest, bytes | None]:
    """The request as a delivery row keeps it (secrets ``***``) and its encrypted part.

    ``target`` is the saved webhook's spec the request was built from (``None`` for a
    custom one): then only the variables its target refers to are kept, from ``lookup``.
    """
    shown = OutgoingRequest(
        request.method,
        redact_url(request.url),
        redact_headers(request.headers),
        request.body,
        request.timeout_s,
    )
    hidden: dict[str, Any] = {}
    if target is not None:
        names = target_references(target)
        if names and lookup is not None:
            found = {name: lookup(name) for name in names}
            variables = {name: value for name, value in found.items() if value is not MISSING}
            if variables:
                hidden["vars"] = variables
    else:
        secrets = secret_headers(request.headers)
        if secrets:
            hidden["headers"] = secrets
        if shown.url != request.url:
            hidden["url"] = request.url
    if not hidden:
        return shown, None
    return shown, cipher.encrypt(json.dumps(hidden))


def attempt_request(delivery: Delivery, cipher: Cipher) -> OutgoingRequest | None:
    """The request (unsigned) for the next attempt; ``None`` when the delivery's saved
    webhook no longer exists."""
    stored = delivery.request
    hidden = _hidden(delivery, cipher)
    if delivery.webhook_id is None:
        headers = dict(stored.headers)
        headers.update(hidden.get("headers") or {})
        url = hidden.get("url") or stored.url
        return OutgoingRequest(stored.method, url, headers, stored.body, stored.timeout_s)
    if delivery.target is None:
        return None
    spec = delivery.target.real_spec(cipher)
    base = {k: v for k, v in stored.headers.items() if k.lower() == "content-type"}
    target, _missing = build_target(spec, lookup_in(hidden.get("vars") or {}), base)
    target.method, target.body = stored.method, stored.body
    return target


def _hidden(delivery: Delivery, cipher: Cipher) -> dict[str, Any]:
    if not delivery.secret_headers:
        return {}
    data: dict[str, Any] = json.loads(cipher.decrypt(delivery.secret_headers))
    if not any(isinstance(data.get(k), dict) for k in ("headers", "vars")) and "url" not in data:
        return {"headers": data}  # a row from before: only its secret headers, by name
    return data
