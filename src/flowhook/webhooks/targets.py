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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flowhook.domain.credentials import redact_headers, redact_url, secret_headers
from flowhook.domain.message import OutgoingRequest
from flowhook.domain.request_spec import RequestSpec
from flowhook.engine.templating import MISSING, Lookup, lookup_in
from flowhook.store.deliveries import Delivery
from flowhook.store.secrets import Cipher
from flowhook.store.webhooks import SavedWebhook
from flowhook.webhooks.request import Target, build_target, fixed_target, target_references


@dataclass(frozen=True, slots=True)
class SendingTarget:
    """What sending to one version of a saved webhook needs, worked out once per version
    (kept on the ``SavedWebhook``, which is one version: an edit is read into a new one, so
    nothing here can outlive the version it was made from): its real spec (secrets
    decrypted), the variables its target refers to, and the rendered target itself when it
    refers to none (the same for every delivery)."""

    spec: RequestSpec
    references: tuple[str, ...]
    fixed: Target | None


def sending_target(webhook: SavedWebhook, cipher: Cipher) -> SendingTarget:
    """The webhook's ``SendingTarget``, made on first use of this version."""
    found: SendingTarget | None = webhook.memo.get("sending")
    if found is None:
        spec = webhook.real_spec(cipher)
        found = SendingTarget(spec, tuple(target_references(spec)), fixed_target(spec))
        webhook.memo["sending"] = found
    return found


def stored_form(
    request: OutgoingRequest,
    cipher: Cipher,
    *,
    target: RequestSpec | None = None,
    lookup: Lookup | None = None,
    references: Sequence[str] | None = None,
) -> tuple[OutgoingRequest, bytes | None]:
    """The request as a delivery row keeps it (secrets ``***``) and its encrypted part.

    ``target`` is the saved webhook's spec the request was built from (``None`` for a
    custom one): then only the variables its target refers to are kept, from ``lookup``.
    ``references`` are those variables when the caller knows them (``SendingTarget``).
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
        names = target_references(target) if references is None else references
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
    if delivery.webhook_id is None:
        hidden = _hidden(delivery, cipher)
        headers = dict(stored.headers)
        headers.update(hidden.get("headers") or {})
        url = hidden.get("url") or stored.url
        return OutgoingRequest(stored.method, url, headers, stored.body, stored.timeout_s)
    if delivery.target is None:
        return None
    sending = sending_target(delivery.target, cipher)
    base = {k: v for k, v in stored.headers.items() if k.lower() == "content-type"}
    if sending.fixed is not None:  # no variables: the target as rendered for this version
        target, _missing = build_target(sending.spec, _no_lookup, base, sending.fixed)
    else:
        variables = _hidden(delivery, cipher).get("vars") or {}
        target, _missing = build_target(sending.spec, lookup_in(variables), base)
    target.method, target.body = stored.method, stored.body
    return target


def _no_lookup(_name: str) -> Any:
    return MISSING


def _hidden(delivery: Delivery, cipher: Cipher) -> dict[str, Any]:
    if not delivery.secret_headers:
        return {}
    data: dict[str, Any] = json.loads(cipher.decrypt(delivery.secret_headers))
    if not any(isinstance(data.get(k), dict) for k in ("headers", "vars")) and "url" not in data:
        return {"headers": data}  # a row from before: only its secret headers, by name
    return data
