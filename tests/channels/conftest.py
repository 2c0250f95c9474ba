"""A flowhook server whose simulator runs ten times faster than real time, and helpers
to ring it, press keys and read what a flow recorded; the SMS flow and the account
settings the Kannel and SMPP tests share; the e-mail flow and SMTP account of the e-mail
tests (their local SMTP server is tests/support/mailserver.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

TIME_SCALE = 0.1


@pytest.fixture
async def sim_api(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    """The server on SQLite and on PostgreSQL, every scripted time ten times shorter."""
    from support.app import running_api, settings_for

    settings = settings_for(database_url, tmp_path, time_scale=TIME_SCALE)
    async with running_api(settings) as running:
        yield running


async def create_flow(api: Any, key: str, doc: dict[str, Any]) -> str:
    status, created = await api.request("POST", "/v1/flows", key=key, json=doc)
    assert status == 201, created
    return str(created["flow_id"])


async def default_webhook(api: Any, key: str, url: str) -> None:
    status, body = await api.request(
        "POST", "/v1/webhooks", key=key, json={"name": "default", "url": url, "is_default": True}
    )
    assert status == 201, body


async def wait_status(
    api: Any, key: str, uuid: str, statuses: tuple[str, ...], timeout: float = 15
) -> dict[str, Any]:
    """The execution once its status is one of ``statuses`` (waiting for the event)."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = await api.request("GET", f"/v1/executions/{uuid}", key=key)
        assert status == 200, body
        if body["status"] in statuses:
            return dict(body)
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.02)


async def wait_in(api: Any, key: str, uuid: str, widget: str) -> dict[str, Any]:
    """The execution once it waits in ``widget``."""
    deadline = time.monotonic() + 15
    while True:
        _, body = await api.request("GET", f"/v1/executions/{uuid}", key=key)
        steps = body["steps"]
        if body["status"] == "WAITING" and steps and steps[-1]["widget"] == widget:
            return dict(body)
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.02)


def flow_complete(received: list[Any]) -> dict[str, Any]:
    """The flow-complete payload among the requests a receiver got."""
    payloads = [r.json() for r in received if b"phonon-uuid" in r.body]
    assert len(payloads) == 1, [r.body for r in received]
    return dict(payloads[0])


REPORTING_SMS_FLOW: dict[str, Any] = {
    "name": "reported_sms",
    "webhook_enabled": True,
    "entry": {"start": "text"},
    "widgets": {
        "text": {
            "type": "sms",
            "from": "FLOWHK",
            "text": "Hi $flow.key.name, order $flow.key.order is ready",
            "wait_report_s": 60,
            "exits": {"delivered": "ok", "undelivered": "bad", "no_report": "bad"},
        },
        "ok": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.outcome", "value": "delivered"}],
        },
        "bad": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.outcome", "value": "not delivered"}],
        },
    },
}
"""An SMS that waits for its delivery report: ``$flow.key.outcome`` says how it went."""

FAILED_SMS_FLOW: dict[str, Any] = {
    **REPORTING_SMS_FLOW,
    "widgets": {
        **REPORTING_SMS_FLOW["widgets"],
        "text": {**REPORTING_SMS_FLOW["widgets"]["text"], "exits": {"failed": "bad"}},
    },
}
"""The SMS for a gateway that refuses it: only its ``failed`` exit, to ``not delivered``."""


def smpp_channels(center: Any, **options: Any) -> dict[str, Any]:
    """Channel settings that send SMS through the test SMSC (tests/support/smsc.py)."""
    return {
        "sms": "smpp",
        "smpp": {
            "host": "127.0.0.1",
            "port": center.port,
            "system_id": center.system_id,
            "password": center.password,
            **options,
        },
    }


async def start_sms(api: Any, key: str, flow_id: str, dnis: str, name: str = "Asha") -> str:
    """Start the SMS flow for ``dnis`` with a name and an order number; its uuid."""
    status, started = await api.request(
        "POST",
        f"/v1/flows/{flow_id}/executions",
        key=key,
        json={
            "version": "test",
            "dnis": dnis,
            "variables": {"$flow.key.name": name, "$flow.key.order": "4711"},
        },
    )
    assert status == 202, started
    return str(started["uuid"])


async def run_flow(api: Any, key: str, flow_id: str, dnis: str, **variables: Any) -> dict[str, Any]:
    """Start the flow for ``dnis`` with ``variables`` and wait until it has ended."""
    status, started = await api.request(
        "POST",
        f"/v1/flows/{flow_id}/executions",
        key=key,
        json={"version": "test", "dnis": dnis, "variables": variables},
    )
    assert status == 202, started
    return await wait_status(api, key, started["uuid"], ("COMPLETED", "FAILED"))


def email_flow() -> dict[str, Any]:
    """An HTML e-mail from the verified sender; ``$flow.key.mail_failed`` when it failed."""
    return {
        "name": "mailer",
        "webhook_enabled": True,
        "entry": {"start": "mail"},
        "widgets": {
            "mail": {
                "type": "email",
                "from": "orders@shop.test",
                "to": "$flow.key.email",
                "subject": "Order $flow.key.order is ready",
                "body": "<p>Hi <b>$flow.key.name</b>, order $flow.key.order is ready.</p>",
                "html": True,
                "exits": {"failed": "note"},
            },
            "note": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.mail_failed", "value": "yes"}],
            },
        },
    }


async def smtp_account(api: Any) -> str:
    """A new account whose e-mail goes out through the SMTP adapter; its key."""
    _, key = await api.account(http_enabled=True)
    channels = {"email": "smtp", "email_senders": ["orders@shop.test"]}
    status, body = await api.request(
        "PUT", "/v1/account/settings", key=key, json={"channels": channels}
    )
    assert status == 200, body
    return str(key)
