"""The webhook registry API and the check button, against real local receivers."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import select

from flowhook.store.tables import webhooks as webhooks_table
from support.app import error_code
from support.receiver import receiver


def hook(url: str, **extra: Any) -> dict[str, Any]:
    return {"name": "crm", "method": "POST", "url": url, **extra}


async def test_create_read_list_replace_delete(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    status, created = await api.request(
        "POST",
        "/v1/webhooks",
        key=key,
        json=hook(
            "https://crm.example.com/in",
            auth={"type": "basic", "username": "u", "password": "pw-123"},
            headers={"X-Env": "prod"},
            timeout_s=5,
        ),
    )
    assert status == 201, created
    assert created["auth"] == {"type": "basic", "username": "u", "password_set": True}
    assert "pw-123" not in str(created)
    status, listed = await api.request("GET", "/v1/webhooks", key=key)
    assert [w["id"] for w in listed["webhooks"]] == [created["id"]]
    status, got = await api.request("GET", f"/v1/webhooks/{created['id']}", key=key)
    assert got["headers"] == {"X-Env": "prod"} and got["timeout_s"] == 5
    # a replacement without a password keeps the stored one
    status, replaced = await api.request(
        "PUT",
        f"/v1/webhooks/{created['id']}",
        key=key,
        json=hook("https://crm.example.com/v2", auth={"type": "basic", "username": "u2"}),
    )
    assert status == 200, replaced
    assert replaced["auth"]["password_set"] is True and replaced["url"].endswith("/v2")
    status, _ = await api.request("DELETE", f"/v1/webhooks/{created['id']}", key=key)
    assert status == 204
    status, body = await api.request("GET", f"/v1/webhooks/{created['id']}", key=key)
    assert status == 404 and body["error"]["code"] == "WEBHOOK_NOT_FOUND"


async def test_password_is_encrypted_at_rest(api: Any) -> None:
    _, key = await api.account()
    await api.request(
        "POST",
        "/v1/webhooks",
        key=key,
        json=hook(
            "https://x.example.com",
            auth={"type": "basic", "username": "u", "password": "hunter2-secret"},
        ),
    )
    rows = await api.runtime.store.read(lambda c: list(c.execute(select(webhooks_table))))
    stored = repr(rows[0]._mapping)
    assert "hunter2-secret" not in stored
    assert rows[0].password is not None


async def test_only_one_default_webhook_per_account(api: Any) -> None:
    _, key = await api.account()
    _, _first = await api.request(
        "POST",
        "/v1/webhooks",
        key=key,
        json={**hook("https://a.example.com"), "name": "a", "is_default": True},
    )
    _, _second = await api.request(
        "POST",
        "/v1/webhooks",
        key=key,
        json={**hook("https://b.example.com"), "name": "b", "is_default": True},
    )
    _, listed = await api.request("GET", "/v1/webhooks", key=key)
    defaults = {w["name"]: w["is_default"] for w in listed["webhooks"]}
    assert defaults == {"a": False, "b": True}


async def test_names_are_unique_and_bad_configs_are_refused(api: Any) -> None:
    _, key = await api.account()
    await api.request("POST", "/v1/webhooks", key=key, json=hook("https://a.example.com"))
    status, body = await api.request(
        "POST", "/v1/webhooks", key=key, json=hook("https://b.example.com")
    )
    assert status == 409 and body["error"]["code"] == "WEBHOOK_NAME_TAKEN"
    for bad in (
        hook("ftp://a.example.com"),
        hook("https://a.example.com", method="TRACE"),
        hook("https://a.example.com", body_type="NONE", body={"a": 1}),
        hook("https://a.example.com", timeout_s=61),
        hook("https://a.example.com", body_type="URL_ENCODED", body={"a": 1}),
    ):
        status, body = await api.request("POST", "/v1/webhooks", key=key, json={**bad, "name": "n"})
        assert status == 422, (bad, body)
        assert body["error"]["code"] == "VALIDATION_FAILED"


async def test_delete_is_refused_while_a_flow_uses_the_webhook(api: Any) -> None:
    _, key = await api.account()
    _, saved = await api.request(
        "POST", "/v1/webhooks", key=key, json=hook("https://a.example.com")
    )
    flow = {
        "name": "uses_crm",
        "entry": {"start": "w"},
        "widgets": {"w": {"type": "webhook", "webhook": "crm"}},
    }
    status, _ = await api.request("POST", "/v1/flows", key=key, json=flow)
    assert status == 201
    status, body = await api.request("DELETE", f"/v1/webhooks/{saved['id']}", key=key)
    assert status == 409
    assert body["error"]["code"] == "WEBHOOK_IN_USE"
    assert body["error"]["details"]["flows"] == ["uses_crm"]


async def test_webhooks_are_private_to_their_account(api: Any) -> None:
    _, key_a = await api.account("a")
    _, key_b = await api.account("b")
    _, saved = await api.request(
        "POST", "/v1/webhooks", key=key_a, json=hook("https://a.example.com")
    )
    for method in ("GET", "DELETE"):
        status, _ = await api.request(method, f"/v1/webhooks/{saved['id']}", key=key_b)
        assert status == 404
    _, listed = await api.request("GET", "/v1/webhooks", key=key_b)
    assert listed["webhooks"] == []


async def test_check_a_good_endpoint_gives_the_green_tick_and_is_kept(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        _, saved = await api.request(
            "POST",
            "/v1/webhooks",
            key=key,
            json=hook(
                rec.url,
                auth={"type": "basic", "username": "u", "password": "p"},
                headers={"X-A": "1"},
            ),
        )
        status, result = await api.request("POST", f"/v1/webhooks/{saved['id']}/check", key=key)
    assert status == 200
    assert result["ok"] is True and result["status_code"] == 200 and result["error_reason"] is None
    sent = rec.received[0]
    assert sent.json()["test"] is True and "phonon-uuid" in sent.json()
    assert sent.headers["Authorization"].startswith("Basic ") and sent.headers["X-A"] == "1"
    _, got = await api.request("GET", f"/v1/webhooks/{saved['id']}", key=key)
    assert got["last_check"]["ok"] is True and got["last_check"]["checked_at"] > 0


async def test_check_reports_401_and_unreachable_endpoints(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        rec.default = (401, {"error": "nope"}, {})
        status, result = await api.request(
            "POST", "/v1/webhooks/check", key=key, json={"url": rec.url}
        )
    assert status == 200
    assert (result["ok"], result["status_code"], result["error_reason"]) == (
        False,
        401,
        "CLIENT_ERROR",
    )
    # the receiver is gone now: nothing listens on its port
    status, result = await api.request("POST", "/v1/webhooks/check", key=key, json={"url": rec.url})
    assert (result["ok"], result["status_code"], result["error_reason"]) == (
        False,
        None,
        "CONNECTION_ERROR",
    )


async def test_check_refuses_plain_http_for_accounts_without_it(api: Any) -> None:
    _, key = await api.account(http_enabled=False)
    async with receiver() as rec:
        _status, result = await api.request(
            "POST", "/v1/webhooks/check", key=key, json={"url": rec.url}
        )
    assert result["error_reason"] == "HTTP_DISABLED" and rec.received == []


async def test_check_takes_the_whole_form_a_save_would_send_and_stores_nothing(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        form = hook(
            rec.url,
            name="crm",
            is_default=True,
            auth={"type": "basic", "username": "u", "password": "p"},
            headers={"X-A": "1"},
        )
        status, result = await api.request("POST", "/v1/webhooks/check", key=key, json=form)
        assert status == 200, result
        assert result["ok"] is True and result["status_code"] == 200
        without_name = {k: v for k, v in form.items() if k != "name"}
        status, result = await api.request("POST", "/v1/webhooks/check", key=key, json=without_name)
        assert status == 200 and result["ok"] is True, result
    sent = rec.received[0]
    assert base64.b64decode(sent.headers["Authorization"].split()[1]) == b"u:p"
    assert sent.headers["X-A"] == "1" and sent.json()["test"] is True
    _, listed = await api.request("GET", "/v1/webhooks", key=key)
    assert listed["webhooks"] == []  # a check saves nothing, default flag included
    # still a strict form: an unknown field or an empty name is refused
    for bad in ({**form, "nmae": "x"}, {**form, "name": ""}):
        status, body = await api.request("POST", "/v1/webhooks/check", key=key, json=bad)
        assert status == 422 and error_code(body) == "VALIDATION_FAILED", body


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_webhook_keeps_its_rate_and_concurrency_limits(api_any: Any) -> None:
    _, key = await api_any.account(http_enabled=True)
    form = hook("https://crm.example.com/in", rate_limit=20, max_in_flight=5)
    status, created = await api_any.request("POST", "/v1/webhooks", key=key, json=form)
    assert status == 201, created
    assert (created["rate_limit"], created["max_in_flight"]) == (20, 5)
    status, got = await api_any.request("GET", f"/v1/webhooks/{created['id']}", key=key)
    assert (got["rate_limit"], got["max_in_flight"]) == (20, 5)
    # a replacement that leaves one out keeps it (the console's form has no such field);
    # null lifts it
    without = {k: v for k, v in form.items() if k != "max_in_flight"}
    status, replaced = await api_any.request(
        "PUT", f"/v1/webhooks/{created['id']}", key=key, json={**without, "rate_limit": None}
    )
    assert status == 200, replaced
    assert (replaced["rate_limit"], replaced["max_in_flight"]) == (None, 5)
    for bad in ({"rate_limit": 0}, {"rate_limit": -1}, {"max_in_flight": 0}, {"rate_limit": "x"}):
        status, body = await api_any.request(
            "POST", "/v1/webhooks", key=key, json={**form, "name": "other", **bad}
        )
        assert status == 422 and error_code(body) == "VALIDATION_FAILED", (bad, body)
