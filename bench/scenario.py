"""The reference scenario as data: the flow document, the stub's answer and the check of a
received flow-complete payload. Shared by flowhook's set-up and the ceiling program, so both
do the same job."""

from __future__ import annotations

from typing import Any

STUB_PATH = "/api/orders"
RECEIVER_PATH = "/hook"
FLOW_NAME = "bench"

VARIABLES: dict[str, Any] = {
    "flow.key.customer": 'Asha "A" <&>',
    "flow.key.amount": 42,
    "flow.key.order": "A-17",
}
"""The three variables ``store_variable`` sets (names without the leading ``$``)."""

REQUEST_BODY: dict[str, str] = {
    "customer": "$flow.key.customer",
    "amount": "$flow.key.amount",
    "order": "$flow.key.order",
}
"""The JSON body the webhook widget builds from them."""

RESPONSE_MAP = {"$flow.key.ref": "data.ref", "$flow.key.score": "data.score"}


def flow_document(stub_url: str) -> dict[str, Any]:
    """trigger → store_variable (3) → webhook (POST JSON, map 2 fields) → end; flow-complete
    webhook on."""
    return {
        "name": FLOW_NAME,
        "type": "outbound",
        "webhook_enabled": True,
        "entry": {"start": "set"},
        "widgets": {
            "set": {
                "type": "store_variable",
                "assignments": [
                    {"variable": f"${name}", "value": value} for name, value in VARIABLES.items()
                ],
                "next": "call",
            },
            "call": {
                "type": "webhook",
                "webhook": "custom",
                "request": {
                    "method": "POST",
                    "url": stub_url,
                    "body_type": "JSON",
                    "body": REQUEST_BODY,
                },
                "response_map": RESPONSE_MAP,
                "exits": {"0": "end", "1": "end"},
            },
            "end": {"type": "end"},
        },
    }


def payload_ok(payload: dict[str, Any]) -> bool:
    """A completed flow whose payload carries the two mapped fields."""
    if payload.get("flowStatus") != "COMPLETED":
        return False
    keys = {k.get("name"): k.get("value") for k in payload.get("keys") or []}
    return bool(keys.get("$flow.key.ref")) and keys.get("$flow.key.score") == 42
