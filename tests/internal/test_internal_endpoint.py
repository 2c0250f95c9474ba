"""``POST /centraloutboundwebhook-v1/{stage}/`` over HTTP: the same methods, for callers
outside a flow, authenticated with the account's Bearer API key."""

from __future__ import annotations

from typing import Any

PATH = "/centraloutboundwebhook-v1/prod/"


async def test_short_url_over_http_answers_the_variables_it_set(api: Any) -> None:
    _, key = await api.account()
    status, body = await api.request(
        "POST",
        PATH,
        key=key,
        json={"method": "shortURL", "variables": {"$flow.syskey.longUrl": "https://example.com"}},
    )
    assert status == 200, body
    assert list(body["variables"]) == ["$flow.key.shortUrl"]
    code = body["variables"]["$flow.key.shortUrl"].rsplit("/", 1)[1]
    status, _ = await api.request("GET", f"/v1/short-urls/{code}", key=key)
    assert status == 200


async def test_the_path_works_without_its_trailing_slash(api: Any) -> None:
    _, key = await api.account()
    status, body = await api.request(
        "POST",
        PATH.rstrip("/"),
        key=key,
        json={"method": "shortURL", "variables": {"$flow.syskey.longUrl": "http://example.com"}},
        allow_redirects=False,
    )
    assert status == 200, body


async def test_a_bearer_key_is_required(api: Any) -> None:
    status, body = await api.request("POST", PATH, json={"method": "shortURL"})
    assert status == 401
    assert body["error"]["code"] == "UNAUTHORIZED"


async def test_bad_calls_are_refused_with_their_reason(api: Any) -> None:
    _, key = await api.account()
    cases = [
        ("/centraloutboundwebhook-v1/dev/", {"method": "shortURL"}, 422, "VALIDATION_FAILED"),
        (PATH, {"method": "nope"}, 422, "UNKNOWN_METHOD"),
        (PATH, {"method": "shortURL", "variables": {"$call.cdr": "x"}}, 422, None),
        (PATH, {"method": "shortURL"}, 422, "INVALID_PARAMETERS"),
        (PATH, {"variables": {}}, 422, "VALIDATION_FAILED"),
    ]
    for path, payload, expected, code in cases:
        status, body = await api.request("POST", path, key=key, json=payload)
        assert status == expected, (payload, body)
        if code:
            assert body["error"]["code"] == code, (payload, body)


async def test_pause_and_unpause_an_agent_by_cli(api: Any) -> None:
    _, key = await api.account()
    _, agent = await api.request(
        "POST", "/v1/agents", key=key, json={"name": "Meera", "cli": "+91 98100 12345"}
    )
    for pause, cli in (("true", "9810012345"), (False, "919810012345"), ("TRUE", "098100 12345")):
        status, body = await api.request(
            "POST",
            PATH,
            key=key,
            json={
                "method": "updatePauseStatusForCLI",
                "variables": {"$flow.key.pause": pause, "$flow.key.cli": cli},
            },
        )
        assert status == 200, body
        assert body["variables"] == {"$flow.key.cli_pause_update": True}
        _, seen = await api.request("GET", f"/v1/agents/{agent['id']}", key=key)
        assert seen["paused"] is (pause in ("true", "TRUE"))
    status, body = await api.request(
        "POST",
        PATH,
        key=key,
        json={
            "method": "updatePauseStatusForCLI",
            "variables": {"$flow.key.pause": "maybe", "$flow.key.cli": "9810012345"},
        },
    )
    assert status == 422
    assert body["error"]["code"] == "INVALID_PARAMETERS"
    assert body["error"]["details"]["variables"] == {"$flow.key.cli_pause_update": False}
