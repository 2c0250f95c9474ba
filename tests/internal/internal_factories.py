"""Factories for the internal-webhook tests: flow documents, OBD request bodies, a
saved internal webhook the webhook widget can target, and flows created through the API."""

from __future__ import annotations

from typing import Any

INTERNAL_URL = "http://192.168.1.42:3000/centraloutboundwebhook-v1/prod/"


def greet_flow(
    name: str = "greet", flow_type: str = "outbound", text: str = "hi"
) -> dict[str, Any]:
    """A flow that writes ``$flow.key.greeting`` = "<text> $flow.key.name" and ends."""
    return {
        "name": name,
        "type": flow_type,
        "entry": {"start": "a"},
        "widgets": {
            "a": {
                "type": "store_variable",
                "assignments": [
                    {"variable": "$flow.key.greeting", "value": f"{text} $flow.key.name"}
                ],
                "next": "b",
            },
            "b": {"type": "end"},
        },
    }


def obd_body(flow: dict[str, Any], *calls: dict[str, Any], version: str = "TEST") -> dict[str, Any]:
    return {
        "api-version": version,
        "security-id": flow["security_id"],
        "flow-id": flow["flow_id"],
        "calls": list(calls)
        or [
            {
                "client-identifier": "c-1",
                "contact-numbers": ["9876543210"],
                "keys": [{"name": "$flow.key.name", "value": "Asha"}],
            }
        ],
    }


async def make_flow(
    api: Any, key: str, document: dict[str, Any] | None = None, *, publish: bool = False
) -> dict[str, Any]:
    """Create a flow (and publish it: copy test → prod); return the API's view of it."""
    status, created = await api.request("POST", "/v1/flows", key=key, json=document or greet_flow())
    assert status == 201, created
    if publish:
        status, published = await api.request(
            "POST", f"/v1/flows/{created['flow_id']}/publish", key=key
        )
        assert status == 200, published
    return dict(created)


async def save_internal_webhook(api: Any, key: str, url: str = INTERNAL_URL) -> None:
    status, body = await api.request(
        "POST", "/v1/webhooks", key=key, json={"name": "internal", "method": "POST", "url": url}
    )
    assert status == 201, body
