"""Accounts over the API: Bearer keys, settings, the IP whitelist and the operator's
controls; every error is JSON with a code."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from sqlalchemy import select

from flowhook.store.tables import accounts
from support.app import error_code

SETTINGS = "/v1/account/settings"


async def test_an_account_reads_its_settings(api_any: Any) -> None:
    account_id, key = await api_any.account("acme")
    status, body = await api_any.request("GET", SETTINGS, key=key)
    assert status == 200, body
    assert body["account_id"] == account_id
    assert body["name"] == "acme"
    assert body["http_enabled"] is False
    assert body["ip_whitelist"] == []
    assert body["default_region"] == "IN"
    assert body["timezone"] == "UTC"


async def test_api_keys_are_stored_hashed(api: Any) -> None:
    account_id, key = await api.account()
    row = await api.runtime.store.read(
        lambda c: c.execute(select(accounts).where(accounts.c.id == account_id)).one()
    )
    assert key not in str(tuple(row))
    assert row.api_key_hash == hashlib.sha256(key.encode()).hexdigest()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer fh_not_a_key"},
    ],
)
async def test_a_missing_or_invalid_key_is_401(api: Any, headers: dict[str, str]) -> None:
    for method, path in [("GET", SETTINGS), ("GET", "/v1/flows"), ("GET", "/v1/executions")]:
        status, body = await api.request(method, path, headers=headers)
        assert status == 401, (path, body)
        assert error_code(body) in ("UNAUTHORIZED", "INVALID_API_KEY")


async def test_put_settings_changes_them(api_any: Any) -> None:
    _, key = await api_any.account()
    wanted = {
        "ip_whitelist": ["127.0.0.1", "10.0.0.0/8"],
        "default_region": "us",
        "timezone": "Asia/Kolkata",
    }
    status, body = await api_any.request("PUT", SETTINGS, key=key, json=wanted)
    assert status == 200, body
    assert body["ip_whitelist"] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert body["default_region"] == "US"
    assert body["timezone"] == "Asia/Kolkata"
    status, again = await api_any.request("GET", SETTINGS, key=key)
    assert status == 200 and again == body


@pytest.mark.parametrize(
    ("settings", "path"),
    [
        ({"ip_whitelist": ["not-an-ip"]}, "$.ip_whitelist"),
        ({"ip_whitelist": ["10.0.0.0/33"]}, "$.ip_whitelist"),
        ({"timezone": "Mars/Olympus_Mons"}, "$.timezone"),
        ({"timezone": "../../etc/passwd"}, "$.timezone"),
        ({"default_region": "XX"}, "$.default_region"),
        ({"default_region": 44}, "$.default_region"),
        ({"ip_whitelist": "10.0.0.0/8"}, "$.ip_whitelist"),
        ({"http_enabled": True}, "$.http_enabled"),
    ],
)
async def test_put_settings_validation_errors_are_422_with_paths(
    api: Any, settings: dict[str, Any], path: str
) -> None:
    _, key = await api.account()
    status, body = await api.request("PUT", SETTINGS, key=key, json=settings)
    assert status == 422, body
    assert error_code(body) == "VALIDATION_FAILED"
    assert path in [d["path"] for d in body["error"]["details"]], body
    _, unchanged = await api.request("GET", SETTINGS, key=key)
    assert unchanged["timezone"] == "UTC" and unchanged["ip_whitelist"] == []


async def test_the_ip_whitelist_refuses_other_addresses_with_403(api_any: Any) -> None:
    account_id, key = await api_any.account()
    status, body = await api_any.request(
        "PUT", SETTINGS, key=key, json={"ip_whitelist": ["192.0.2.0/24", "127.0.0.1/32"]}
    )
    assert status == 200, body
    status, body = await api_any.request("GET", "/v1/flows", key=key)
    assert status == 200, body  # 127.0.0.1 is in the whitelist

    # the account cannot shut out its own address; the operator can
    status, body = await api_any.request(
        "PATCH",
        f"/v1/operator/accounts/{account_id}",
        key="operator-secret",
        json={"ip_whitelist": ["192.0.2.0/24"]},
    )
    assert status == 200, body
    for path in ("/v1/flows", SETTINGS, "/v1/executions"):
        status, body = await api_any.request("GET", path, key=key)
        assert status == 403, body
        assert error_code(body) == "IP_NOT_WHITELISTED"


async def test_a_whitelist_that_would_lock_the_caller_out_is_409_and_changes_nothing(
    api_any: Any,
) -> None:
    _, key = await api_any.account()
    before = {"ip_whitelist": ["127.0.0.1/32"], "timezone": "Asia/Kolkata"}
    status, stored = await api_any.request("PUT", SETTINGS, key=key, json=before)
    assert status == 200, stored

    # the tests call from 127.0.0.1, which this whitelist leaves out
    wanted = {"ip_whitelist": ["192.0.2.0/24", "10.0.0.0/8"], "timezone": "UTC"}
    status, body = await api_any.request("PUT", SETTINGS, key=key, json=wanted)
    assert status == 409, body
    assert error_code(body) == "WHITELIST_LOCKOUT"
    assert "127.0.0.1" in body["error"]["message"]
    assert "include 127.0.0.1" in body["error"]["message"]
    assert body["error"]["details"] == {"address": "127.0.0.1"}

    status, after = await api_any.request("GET", SETTINGS, key=key)
    assert status == 200, after  # still allowed in
    assert after == stored  # neither the whitelist nor the time zone changed


@pytest.mark.parametrize(
    "whitelist",
    [["127.0.0.1"], ["192.0.2.0/24", "127.0.0.0/8"], ["0.0.0.0/0"], []],
    ids=["the-address", "a-range-with-it", "everyone", "empty"],
)
async def test_a_whitelist_that_allows_the_caller_is_accepted(
    api: Any, whitelist: list[str]
) -> None:
    _, key = await api.account()
    status, body = await api.request("PUT", SETTINGS, key=key, json={"ip_whitelist": whitelist})
    assert status == 200, body
    status, body = await api.request("GET", "/v1/flows", key=key)
    assert status == 200, body


async def test_the_operator_can_set_any_whitelist_and_let_the_account_back_in(
    api_any: Any,
) -> None:
    account_id, key = await api_any.account()
    path = f"/v1/operator/accounts/{account_id}"
    status, body = await api_any.request(
        "PATCH", path, key="operator-secret", json={"ip_whitelist": ["192.0.2.0/24"]}
    )
    assert status == 200, body
    assert body["ip_whitelist"] == ["192.0.2.0/24"]
    assert body["http_enabled"] is False  # a field left out stays as it was
    status, body = await api_any.request("GET", SETTINGS, key=key)
    assert status == 403, body

    status, body = await api_any.request(
        "PATCH", path, key="operator-secret", json={"ip_whitelist": ["127.0.0.1", "192.0.2.0/24"]}
    )
    assert status == 200, body
    status, body = await api_any.request("GET", SETTINGS, key=key)
    assert status == 200, body
    assert body["ip_whitelist"] == ["127.0.0.1/32", "192.0.2.0/24"]


async def test_the_operator_whitelist_is_validated(api: Any) -> None:
    account_id, key = await api.account()
    status, body = await api.request(
        "PATCH",
        f"/v1/operator/accounts/{account_id}",
        key="operator-secret",
        json={"ip_whitelist": ["not-an-ip"]},
    )
    assert status == 422, body
    assert "$.ip_whitelist" in [d["path"] for d in body["error"]["details"]], body
    _, unchanged = await api.request("GET", SETTINGS, key=key)
    assert unchanged["ip_whitelist"] == []


async def test_the_whitelist_of_one_account_does_not_affect_another(api: Any) -> None:
    _, locked = await api.account("locked", ip_whitelist=["192.0.2.1/32"])
    _, free = await api.account("free")
    assert (await api.request("GET", "/v1/flows", key=locked))[0] == 403
    assert (await api.request("GET", "/v1/flows", key=free))[0] == 200


async def test_an_account_cannot_enable_plain_http_itself(api: Any) -> None:
    _, key = await api.account()
    status, body = await api.request("PUT", SETTINGS, key=key, json={"http_enabled": True})
    assert status == 422, body


async def test_the_operator_enables_http_with_the_operator_token(api_any: Any) -> None:
    account_id, key = await api_any.account()
    path = f"/v1/operator/accounts/{account_id}"
    status, body = await api_any.request(
        "PATCH", path, key="operator-secret", json={"http_enabled": True}
    )
    assert status == 200, body
    assert body["http_enabled"] is True
    _, settings = await api_any.request("GET", SETTINGS, key=key)
    assert settings["http_enabled"] is True


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_the_operator_api_refuses_without_the_token(api: Any, token: str | None) -> None:
    account_id, key = await api.account()
    status, body = await api.request(
        "PATCH", f"/v1/operator/accounts/{account_id}", key=token, json={"http_enabled": True}
    )
    assert status == 401, body
    assert error_code(body) in ("UNAUTHORIZED", "INVALID_OPERATOR_TOKEN")
    _, settings = await api.request("GET", SETTINGS, key=key)
    assert settings["http_enabled"] is False


async def test_an_account_key_is_not_an_operator_token(api: Any) -> None:
    account_id, key = await api.account()
    status, body = await api.request(
        "PATCH", f"/v1/operator/accounts/{account_id}", key=key, json={"http_enabled": True}
    )
    assert status == 401, body


async def test_the_operator_api_is_off_without_a_configured_token(
    sqlite_url: str, tmp_path: Any
) -> None:
    from support.app import running_api, settings_for

    settings = settings_for(sqlite_url, tmp_path, operator_token="")
    async with running_api(settings, worker=False) as api:
        account_id, _ = await api.account()
        status, body = await api.request(
            "PATCH", f"/v1/operator/accounts/{account_id}", key="", json={"http_enabled": True}
        )
        assert status == 403, body
        assert error_code(body) == "OPERATOR_DISABLED"


async def test_the_operator_patch_of_an_unknown_account_is_404(api: Any) -> None:
    status, body = await api.request(
        "PATCH",
        "/v1/operator/accounts/no-such-account",
        key="operator-secret",
        json={"http_enabled": True},
    )
    assert status == 404, body
    assert error_code(body) == "ACCOUNT_NOT_FOUND"


async def test_the_operator_patch_validates_its_body(api: Any) -> None:
    account_id, _ = await api.account()
    status, body = await api.request(
        "PATCH",
        f"/v1/operator/accounts/{account_id}",
        key="operator-secret",
        json={"http_enabled": [1]},
    )
    assert status == 422, body


async def test_two_accounts_cannot_claim_the_same_short_domain(api_any: Any) -> None:
    _, first = await api_any.account("first")
    _, second = await api_any.account("second")
    wanted = {"short_domain": "go.example.com"}
    status, body = await api_any.request("PUT", SETTINGS, key=first, json=wanted)
    assert status == 200, body
    status, body = await api_any.request("PUT", SETTINGS, key=second, json=wanted)
    assert status == 409, body
    assert error_code(body) == "SHORT_DOMAIN_TAKEN"


async def test_the_signing_secret_can_be_read_and_rotated(api: Any) -> None:
    _, key = await api.account()
    status, body = await api.request("GET", "/v1/account/signing-secret", key=key)
    assert status == 200, body
    first = body["signing_secret"]
    status, body = await api.request("POST", "/v1/account/signing-secret/rotate", key=key)
    assert status == 200, body
    assert body["signing_secret"] != first
    _, again = await api.request("GET", "/v1/account/signing-secret", key=key)
    assert again["signing_secret"] == body["signing_secret"]


async def test_settings_malformed_json_is_400(api: Any) -> None:
    _, key = await api.account()
    status, body = await api.request(
        "PUT",
        SETTINGS,
        key=key,
        data=b'{"timezone": ',
        headers={"Content-Type": "application/json"},
    )
    assert status == 400, body
    assert error_code(body) == "MALFORMED_JSON"


def v1_operations() -> list[tuple[str, str]]:
    """Every method and path of the /v1 API, read from the application's OpenAPI schema."""
    from flowhook.api.app import create_app
    from flowhook.settings import Settings

    schema = create_app(Settings()).openapi()
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "x", path))
        for path, operations in schema["paths"].items()
        if path.startswith("/v1/")
        for method in operations
    ]


@pytest.mark.slow
async def test_every_v1_call_needs_an_api_key(api: Any) -> None:
    operations = v1_operations()
    assert ("POST", "/v1/flows/x/executions") in operations
    for method, path in operations:
        for key in (None, "fh_not_a_key"):
            status, body = await api.request(method, path, key=key, json={})
            assert status == 401, (method, path, body)
            error_code(body)


async def test_the_retention_can_be_read_and_set(api_any: Any) -> None:
    _, key = await api_any.account()
    path = "/v1/account/retention"
    assert await api_any.request("GET", path, key=key) == (
        200,
        {"days": None, "effective_days": 30},
    )
    status, body = await api_any.request("PUT", path, key=key, json={"days": 90})
    assert (status, body) == (200, {"days": 90, "effective_days": 90})
    assert (await api_any.request("GET", path, key=key))[1]["days"] == 90
    bad: Any
    for bad in (0, 3651, "long", {}, True):
        status, body = await api_any.request("PUT", path, key=key, json={"days": bad})
        assert status == 422 and error_code(body) == "VALIDATION_FAILED", body
    assert (await api_any.request("GET", path, key=key))[1]["days"] == 90
