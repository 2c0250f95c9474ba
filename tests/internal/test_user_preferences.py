"""updateUserPreferences: ``$user.key`` values kept for a contact without a call are what
later executions for that contact start with, in any flow (last write wins)."""

from __future__ import annotations

from typing import Any

from internal_factories import make_flow, save_internal_webhook

READER = {
    "name": "reader",
    "type": "outbound",
    "entry": {"start": "r"},
    "widgets": {
        "r": {
            "type": "store_variable",
            "assignments": [
                {"variable": "$flow.key.seen_language", "value": "$user.key.language"},
                {"variable": "$flow.key.seen_tier", "value": "$user.key.tier"},
            ],
        }
    },
}


def writer(**user_keys: str) -> dict[str, Any]:
    """An SMS-style flow: no call, so it binds $user.key values with the internal method."""
    return {
        "name": "writer",
        "type": "outbound",
        "entry": {"start": "p"},
        "widgets": {
            "p": {
                "type": "store_variable",
                "assignments": [
                    {"variable": "$user.syskey.contactNumber", "value": "98765 43210"},
                    *({"variable": f"$user.key.{k}", "value": v} for k, v in user_keys.items()),
                ],
                "next": "save",
            },
            "save": {"type": "webhook", "webhook": "internal", "method": "updateUserPreferences"},
        },
    }


async def run(api: Any, key: str, flow_id: str, **trigger: Any) -> dict[str, Any]:
    status, body = await api.request(
        "POST", f"/v1/flows/{flow_id}/executions", key=key, json={"version": "test", **trigger}
    )
    assert status == 202, body
    done: dict[str, Any] = await api.wait_for(body["uuid"], key)
    return done


async def test_a_later_execution_of_another_flow_sees_the_preferences(api_any: Any) -> None:
    api = api_any
    _, key = await api.account()
    await save_internal_webhook(api, key)
    write = await make_flow(api, key, writer(language="hindi", tier="gold"))
    read = await make_flow(api, key, READER)

    written = await run(api, key, write["flow_id"])
    assert written["variables"]["$flow.key.user_preferences_update"] is True

    # a call to the same contact, written another way, in another flow
    seen = await run(api, key, read["flow_id"], dnis="+91 98765-43210")
    assert seen["variables"]["$flow.key.seen_language"] == "hindi"
    assert seen["variables"]["$flow.key.seen_tier"] == "gold"

    # another contact starts without them
    stranger = await run(api, key, read["flow_id"], dnis="9810012345")
    assert stranger["variables"]["$flow.key.seen_language"] == "$user.key.language"


async def test_the_last_write_wins_and_other_keys_are_kept(api: Any) -> None:
    _, key = await api.account()
    await save_internal_webhook(api, key)
    first = await make_flow(api, key, writer(language="hindi", tier="gold"))
    await run(api, key, first["flow_id"])
    second = await make_flow(api, key, {**writer(language="tamil"), "name": "writer2"})
    await run(api, key, second["flow_id"])
    read = await make_flow(api, key, READER)
    seen = await run(api, key, read["flow_id"], dnis="9876543210")
    assert seen["variables"]["$flow.key.seen_language"] == "tamil"
    assert seen["variables"]["$flow.key.seen_tier"] == "gold"


async def test_preferences_stay_in_their_account(api: Any) -> None:
    _, key = await api.account("a")
    _, other = await api.account("b")
    await save_internal_webhook(api, key)
    write = await make_flow(api, key, writer(language="hindi"))
    await run(api, key, write["flow_id"])
    read = await make_flow(api, other, READER)
    seen = await run(api, other, read["flow_id"], dnis="9876543210")
    assert seen["variables"]["$flow.key.seen_language"] == "$user.key.language"


async def test_preferences_set_over_http_reach_an_outbound_api_call(api: Any) -> None:
    account_id, key = await api.account()
    status, body = await api.request(
        "POST",
        "/centraloutboundwebhook-v1/prod/",
        key=key,
        json={
            "method": "updateUserPreferences",
            "variables": {
                "$user.syskey.contactNumber": "9876543210",
                "$user.syskey.accountID": account_id,
                "$user.key.language": "marathi",
            },
        },
    )
    assert status == 200, body
    assert body["variables"] == {"$flow.key.user_preferences_update": True}
    read = await make_flow(api, key, READER)
    status, answer = await api.request(
        "POST",
        "/kairos-apis/outbound/create",
        json={
            "api-version": "TEST",
            "security-id": read["security_id"],
            "flow-id": read["flow_id"],
            "calls": [{"client-identifier": "x", "contact-numbers": ["919876543210"]}],
        },
    )
    assert answer["api-response-code"] == 200, answer
    seen = await api.wait_for(answer["call-details"][0]["phonon-uuid"], key)
    assert seen["variables"]["$flow.key.seen_language"] == "marathi"


async def test_another_accounts_id_is_refused(api: Any) -> None:
    _, key = await api.account()
    status, body = await api.request(
        "POST",
        "/centraloutboundwebhook-v1/test/",
        key=key,
        json={
            "method": "updateUserPreferences",
            "variables": {
                "$user.syskey.contactNumber": "9876543210",
                "$user.syskey.accountID": "someone-else",
                "$user.key.language": "x",
            },
        },
    )
    assert status == 422
    assert body["error"]["code"] == "ACCOUNT_MISMATCH"
    assert body["error"]["details"]["variables"] == {"$flow.key.user_preferences_update": False}
