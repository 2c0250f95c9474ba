"""Credentials of outgoing calls (issue 12.3): a basic-auth password, headers whose name says
key/token/secret/auth…, URL user-info and secret query parameters are sent to the receiver
as given, but stored only encrypted and shown only as ``***`` — in saved webhooks, in flows
(a custom webhook widget's inline request), in executions' step logs, in deliveries and in
their attempts. Checked on the raw SQLite rows and on every API answer."""

from __future__ import annotations

import base64
import sqlite3
from typing import Any
from urllib.parse import urlsplit

from support.app import error_code
from support.receiver import Received, receiver

# every secret of the test, distinct so that a leak names itself
SAVED_PASSWORD = "pw-saved-Q1"
SAVED_API_KEY = "apikey-saved-Q2"
SAVED_AUTH_TOKEN = "authtoken-saved-Q3"
SAVED_QUERY_TOKEN = "querytoken-saved-Q4"
URL_PASSWORD = "urlpass-Q5"
URL_QUERY_TOKEN = "urltoken-Q6"
INLINE_PASSWORD = "pw-inline-Q7"
INLINE_API_KEY = "apikey-inline-Q8"
INLINE_SECRET_QUERY = "clientsecret-inline-Q9"
SECRETS = [
    SAVED_PASSWORD,
    SAVED_API_KEY,
    SAVED_AUTH_TOKEN,
    SAVED_QUERY_TOKEN,
    URL_PASSWORD,
    URL_QUERY_TOKEN,
    INLINE_PASSWORD,
    INLINE_API_KEY,
    INLINE_SECRET_QUERY,
]


def basic(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def leaks(text: str) -> list[str]:
    """The secrets found in ``text``, as written or inside a Basic ``Authorization``."""
    found = [s for s in SECRETS if s in text]
    for user, password in (
        ("saved-user", SAVED_PASSWORD),
        ("url-user", URL_PASSWORD),
        ("inline-user", INLINE_PASSWORD),
    ):
        if basic(user, password) in text:
            found.append(f"Basic {user}:{password}")
    return found


def database_text(database_url: str) -> str:
    """Every row of every table of the SQLite file, read directly (not through flowhook)."""
    path = database_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    try:
        out = []
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        out.append(value.decode("utf-8", errors="replace"))
                    else:
                        out.append(str(value))
        return "\n".join(out)
    finally:
        conn.close()


def with_userinfo(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{user}:{password}@{parts.netloc}").geturl()


async def setup(api: Any, rec_url: str) -> tuple[str, dict[str, Any]]:
    """An account with two saved webhooks holding every kind of secret, and a flow that
    calls both and a custom target with inline secrets (waiting and fire-and-forget)."""
    _, key = await api.account(http_enabled=True)
    status, saved = await api.request(
        "POST",
        "/v1/webhooks",
        key=key,
        json={
            "name": "crm",
            "url": rec_url + "/crm",
            "auth": {"type": "basic", "username": "saved-user", "password": SAVED_PASSWORD},
            "headers": {
                "X-Api-Key": SAVED_API_KEY,
                "X-Auth-Token": SAVED_AUTH_TOKEN,
                "X-Tenant": "acme",
            },
            "query": {"token": SAVED_QUERY_TOKEN, "page": "1"},
            "is_default": True,
        },
    )
    assert status == 201, saved
    status, by_url = await api.request(
        "POST",
        "/v1/webhooks",
        key=key,
        json={
            "name": "by-url",
            "url": with_userinfo(rec_url, "url-user", URL_PASSWORD)
            + f"/by-url?access_token={URL_QUERY_TOKEN}&x=1",
        },
    )
    assert status == 201, by_url
    inline = {
        "method": "POST",
        "url": rec_url + "/inline",
        "auth": {"type": "basic", "username": "inline-user", "password": INLINE_PASSWORD},
        "headers": {"X-Api-Key": INLINE_API_KEY, "X-Trace": "t-1"},
        "query": {"client_secret": INLINE_SECRET_QUERY, "q": "v"},
        "body_type": "JSON",
        "body": {"n": 1},
    }
    flow = {
        "name": "secretive",
        "type": "outbound",
        "webhook_enabled": True,
        "entry": {"start": "saved"},
        "widgets": {
            "saved": {"type": "webhook", "webhook": "crm", "exits": {"0": "url"}},
            "url": {
                "type": "webhook",
                "webhook": "by-url",
                "wait_for_response": False,
                "exits": {"0": "inline"},
            },
            "inline": {
                "type": "webhook",
                "webhook": "custom",
                "request": inline,
                "exits": {"0": "later"},
            },
            "later": {
                "type": "webhook",
                "webhook": "custom",
                "request": inline,
                "wait_for_response": False,
                "exits": {"0": "end"},
            },
            "end": {"type": "end"},
        },
    }
    status, created = await api.request("POST", "/v1/flows", key=key, json=flow)
    assert status == 201, created
    return key, created


def by_path(received: list[Received], path: str) -> list[Received]:
    return [r for r in received if r.path == path]


async def test_receivers_get_real_credentials_that_are_stored_encrypted_and_shown_redacted(
    api: Any,
) -> None:
    async with receiver("") as rec:
        key, flow = await setup(api, rec.url)
        status, started = await api.request(
            "POST", f"/v1/flows/{flow['flow_id']}/executions", key=key, json={"version": "test"}
        )
        assert status == 202, started
        execution = await api.wait_for(started["uuid"], key)
        # crm (widget) + by-url (delivery) + inline + inline (delivery) + crm (flow-complete)
        await rec.wait_for(5)
        _, listed = await api.request("GET", f"/v1/deliveries?execution={started['uuid']}", key=key)
        assert len(listed["deliveries"]) == 3

    # the receivers got the real credentials
    crm = by_path(rec.received, "/crm")
    assert len(crm) == 2  # the widget's call and the flow-complete delivery
    for got in crm:
        assert got.headers["Authorization"] == "Basic " + basic("saved-user", SAVED_PASSWORD)
        assert got.headers["X-Api-Key"] == SAVED_API_KEY
        assert got.headers["X-Auth-Token"] == SAVED_AUTH_TOKEN
        assert got.query == {"token": SAVED_QUERY_TOKEN, "page": "1"}
    (url_call,) = by_path(rec.received, "/by-url")
    assert url_call.headers["Authorization"] == "Basic " + basic("url-user", URL_PASSWORD)
    assert url_call.query == {"access_token": URL_QUERY_TOKEN, "x": "1"}
    inline = by_path(rec.received, "/inline")
    assert len(inline) == 2
    for got in inline:
        assert got.headers["Authorization"] == "Basic " + basic("inline-user", INLINE_PASSWORD)
        assert got.headers["X-Api-Key"] == INLINE_API_KEY
        assert got.query == {"client_secret": INLINE_SECRET_QUERY, "q": "v"}

    # no row of the database holds a secret in plain text
    assert leaks(database_text(api.settings.database_url)) == []

    # no API answer shows one
    answers: list[Any] = []
    for path in (
        "/v1/webhooks",
        f"/v1/flows/{flow['flow_id']}",
        f"/v1/executions/{started['uuid']}",
        f"/v1/deliveries?execution={started['uuid']}",
        *(f"/v1/deliveries/{d['id']}" for d in listed["deliveries"]),
    ):
        status, body = await api.request("GET", path, key=key)
        assert status == 200, (path, body)
        answers.append(body)
    assert leaks(repr(answers)) == []
    assert leaks(repr(execution)) == []

    # ... but they show where the secrets are
    _, hooks = await api.request("GET", "/v1/webhooks", key=key)
    crm_hook = next(h for h in hooks["webhooks"] if h["name"] == "crm")
    assert crm_hook["headers"] == {"X-Api-Key": "***", "X-Auth-Token": "***", "X-Tenant": "acme"}
    assert crm_hook["query"] == {"token": "***", "page": "1"}
    assert crm_hook["auth"] == {"type": "basic", "username": "saved-user", "password_set": True}
    url_hook = next(h for h in hooks["webhooks"] if h["name"] == "by-url")
    assert "url-user:***@" in url_hook["url"] and "access_token=***&x=1" in url_hook["url"]
    _, shown = await api.request("GET", f"/v1/flows/{flow['flow_id']}", key=key)
    request = shown["test"]["widgets"]["inline"]["request"]
    assert request["auth"]["password"] == "***"
    assert request["headers"] == {"X-Api-Key": "***", "X-Trace": "t-1"}
    assert request["query"] == {"client_secret": "***", "q": "v"}
    step = next(s for s in execution["steps"] if s["widget"] == "saved")
    assert step["request"]["headers"]["X-Api-Key"] == "***"
    assert step["request"]["headers"]["X-Tenant"] == "acme"
    assert "token=***" in step["request"]["url"] and "page=1" in step["request"]["url"]
    for delivery in answers[4:]:
        for attempt in delivery["attempts"]:
            assert attempt["request_headers"]["webhook-signature"] == "***"
            assert urlsplit(attempt["url"]).port == urlsplit(rec.url).port


async def test_a_flow_sent_back_as_shown_keeps_its_secrets(api: Any) -> None:
    async with receiver("") as rec:
        key, flow = await setup(api, rec.url)
        _, shown = await api.request("GET", f"/v1/flows/{flow['flow_id']}", key=key)
        # the test version is edited from what GET showed (secrets as ***), then published
        document = shown["test"]
        for widget in ("inline", "later"):
            document["widgets"][widget]["request"]["headers"]["X-Trace"] = "t-2"
        status, replaced = await api.request(
            "PUT", f"/v1/flows/{flow['flow_id']}", key=key, json=document
        )
        assert status == 200, replaced
        status, _ = await api.request("POST", f"/v1/flows/{flow['flow_id']}/publish", key=key)
        assert status == 200
        status, started = await api.request(
            "POST", f"/v1/flows/{flow['flow_id']}/executions", key=key, json={"version": "prod"}
        )
        assert status == 202, started
        await api.wait_for(started["uuid"], key)
        await rec.wait_for(5)
    inline = by_path(rec.received, "/inline")
    assert {r.headers["X-Trace"] for r in inline} == {"t-2"}
    for got in inline:
        assert got.headers["Authorization"] == "Basic " + basic("inline-user", INLINE_PASSWORD)
        assert got.headers["X-Api-Key"] == INLINE_API_KEY
        assert got.query["client_secret"] == INLINE_SECRET_QUERY
    assert leaks(database_text(api.settings.database_url)) == []


async def test_a_marker_where_no_secret_is_stored_is_refused(api: Any) -> None:
    async with receiver("") as rec:
        key, flow = await setup(api, rec.url)
    _, shown = await api.request("GET", f"/v1/flows/{flow['flow_id']}", key=key)
    document = shown["test"]
    # a new widget copied from a shown one has no stored secrets to keep
    document["widgets"]["copy"] = document["widgets"]["inline"]
    status, body = await api.request("POST", "/v1/flows", key=key, json=document)
    assert status == 422 and error_code(body) == "UNKNOWN_SECRET", body
    status, body = await api.request("PUT", f"/v1/flows/{flow['flow_id']}", key=key, json=document)
    assert status == 422 and error_code(body) == "UNKNOWN_SECRET", body
    assert "copy" in body["error"]["message"]


async def test_a_webhook_sent_back_as_shown_keeps_its_secrets(api: Any) -> None:
    async with receiver("") as rec:
        key, _flow = await setup(api, rec.url)
        _, hooks = await api.request("GET", "/v1/webhooks", key=key)
        for hook in hooks["webhooks"]:
            body = {k: hook[k] for k in ("name", "url", "headers", "query", "is_default")}
            body["auth"] = {k: v for k, v in hook["auth"].items() if k != "password_set"}
            status, replaced = await api.request(
                "PUT", f"/v1/webhooks/{hook['id']}", key=key, json=body
            )
            assert status == 200, replaced
            status, checked = await api.request("POST", f"/v1/webhooks/{hook['id']}/check", key=key)
            assert status == 200 and checked["ok"], checked
        await rec.wait_for(2)
    crm, by_url = by_path(rec.received, "/crm")[0], by_path(rec.received, "/by-url")[0]
    assert crm.headers["Authorization"] == "Basic " + basic("saved-user", SAVED_PASSWORD)
    assert crm.headers["X-Api-Key"] == SAVED_API_KEY
    assert crm.query == {"token": SAVED_QUERY_TOKEN, "page": "1"}
    assert by_url.headers["Authorization"] == "Basic " + basic("url-user", URL_PASSWORD)
    assert by_url.query == {"access_token": URL_QUERY_TOKEN, "x": "1"}
    assert leaks(database_text(api.settings.database_url)) == []


async def test_a_marker_for_a_header_a_webhook_never_had_is_refused(api: Any) -> None:
    async with receiver("") as rec:
        key, _flow = await setup(api, rec.url)
    _, hooks = await api.request("GET", "/v1/webhooks", key=key)
    hook = next(h for h in hooks["webhooks"] if h["name"] == "crm")
    status, body = await api.request(
        "PUT",
        f"/v1/webhooks/{hook['id']}",
        key=key,
        json={"name": "crm", "url": hook["url"], "headers": {"X-Other-Token": "***"}},
    )
    assert status == 422 and error_code(body) == "UNKNOWN_SECRET", body
