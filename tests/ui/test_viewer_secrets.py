"""A viewer never sees a secret: a viewer's browser walks every page of an account that
has every kind of secret (signing secret, API key, a webhook's basic-auth password and
secret headers, a flow widget's secret header, the short-URL token) and finds none of
them in any page's HTML."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from flowhook.usecases import accounts, deliveries, executions, flows, short_urls, webhooks
from flowhook.usecases.deliveries import DeliveryFilter
from flowhook.usecases.executions import Trigger
from flowhook.usecases.flows import FlowSource
from flowhook.usecases.short_urls import NewShortUrl
from flowhook.usecases.webhooks import WebhookIn
from support.console import Console, sign_in
from support.receiver import receiver

PASSWORD = "basic-sekrit-4711"
HEADER = "Bearer header-sekrit-0815"
WIDGET_KEY = "widget-sekrit-2342"
MAX_PAGES = 80


def flow_calling(url: str) -> dict[str, Any]:
    return {
        "name": "notify",
        "webhook_enabled": True,
        "entry": {"start": "call"},
        "widgets": {
            "call": {
                "type": "webhook",
                "webhook": "custom",
                "request": {"method": "POST", "url": url, "headers": {"X-Api-Key": WIDGET_KEY}},
                "exits": {"0": "done", "1": "done"},
            },
            "done": {"type": "end"},
        },
    }


def test_a_viewer_walking_every_page_sees_no_secret(page: Any, console: Console) -> None:
    rt = console.runtime
    account, api_key = console.account("walk", http_enabled=True)
    rec = console.enter(receiver())
    hook = WebhookIn.model_validate(
        {
            "name": "crm",
            "url": rec.url,
            "is_default": True,
            "auth": {"type": "basic", "username": "crm", "password": PASSWORD},
            "headers": {"X-Crm-Token": HEADER},
        }
    )
    console.call(webhooks.create(rt, account, hook))
    saved = console.call(
        flows.create(rt, account, FlowSource(json.dumps(flow_calling(rec.url)).encode()))
    )
    console.call(flows.publish(rt, account, saved.record.flow_id))
    console.call(executions.start(rt, account, saved.record.flow_id, Trigger(version="test")))
    console.call(short_urls.create(rt, account, NewShortUrl(long_url="https://example.test/a")))
    deadline = time.monotonic() + 20
    while not console.call(
        deliveries.list_page(rt, account, DeliveryFilter(status="SUCCEEDED"))
    ).items:
        assert time.monotonic() < deadline, "the flow-complete delivery never succeeded"
        time.sleep(0.05)
    sent = [r.headers for r in rec.received]  # the secrets were really used
    assert any(h.get("X-Crm-Token") == HEADER for h in sent)
    assert any(h.get("X-Api-Key") == WIDGET_KEY for h in sent)

    signing = console.call(accounts.signing_secret(rt, account)).signing_secret
    secrets = {
        "signing secret": signing,
        "API key": api_key,
        "basic-auth password": PASSWORD,
        "secret header": HEADER.split()[-1],
        "widget's secret header": WIDGET_KEY,
        "short-URL token": account.short_token,
    }
    sign_in(page, console, console.user(account, "viewer@walk.test", "viewer"))

    origin = console.base_url
    seen: set[str] = set()
    queue = ["/"]
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        page.goto(origin + path)
        html = page.content()
        for what, value in secrets.items():
            assert value not in html, f"the {what} is in {path}"
        for href in page.locator("a[href]").evaluate_all("els => els.map(e => e.href)"):
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" != origin or parts.path.startswith(
                ("/static", "/sign-out", "/v1", "/docs", "/openapi")
            ):
                continue
            link = parts.path + (f"?{parts.query}" if parts.query else "")
            if link not in seen:
                queue.append(link)
    visited = {urlsplit(p).path.split("/")[1] for p in seen}
    assert {"", "flows", "executions", "webhooks", "deliveries", "settings"} <= visited
    assert {"agents", "short-links"} <= visited
    assert any(p.startswith("/deliveries/") for p in seen)  # a delivery with its attempts
    assert any(p.startswith("/executions/") for p in seen)
    assert any("/widgets/" in p for p in seen)
