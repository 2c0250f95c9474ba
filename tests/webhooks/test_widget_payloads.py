"""What receivers get from webhook widgets and the flow-complete message: a saved webhook
with body type NONE sends the default payload as JSON wherever it is used (and the check
sends the sample the same way), verifiable with the snippets of docs/webhooks.md; the
flow-complete ``keys`` carry the flow's variables and each webhook widget's results under
its own name, so a later call cannot erase an earlier one."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from support.receiver import Received, receiver

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_python(heading: str) -> str:
    """The first ```python block after ``heading`` in docs/webhooks.md, as written."""
    text = DOCS.read_text()
    after = text[text.index(heading) :]
    match = re.search(r"```python[^\n]*\n(.*?)```", after, re.S)
    assert match, heading
    return match.group(1)


def verified_by_the_documented_snippets(secret: str, got: Received) -> Any:
    """Run both documented Python verifiers on a request as received; the stored payload."""
    stored: list[Any] = []
    scope: dict[str, Any] = {"SECRET": secret, "store": lambda _id, payload: stored.append(payload)}
    exec(documented_python("### Python, with the `standardwebhooks` package"), scope)
    assert scope["handle"](got.body, got.headers) == 204
    by_hand: dict[str, Any] = {}
    exec(documented_python("### Python, by hand"), by_hand)
    lower = {name.lower(): value for name, value in got.headers.items()}
    assert by_hand["verify"](secret, lower, got.body) is True
    assert by_hand["verify"](secret, lower, got.body + b" ") is False
    return stored[0]


async def signing_secret(api: Any, key: str) -> str:
    _, body = await api.request("GET", "/v1/account/signing-secret", key=key)
    return str(body["signing_secret"])


async def save(api: Any, key: str, **webhook: Any) -> dict[str, Any]:
    status, saved = await api.request("POST", "/v1/webhooks", key=key, json=webhook)
    assert status == 201, saved
    return dict(saved)


async def run_flow(api: Any, key: str, flow: dict[str, Any]) -> dict[str, Any]:
    status, created = await api.request("POST", "/v1/flows", key=key, json=flow)
    assert status == 201, created
    status, body = await api.request(
        "POST", f"/v1/flows/{created['flow_id']}/executions", key=key, json={"version": "test"}
    )
    assert status == 202, body
    done: dict[str, Any] = await api.wait_for(body["uuid"], key)
    return done


def flow_calling(widget: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": "calls",
        "entry": {"start": "prep"},
        "widgets": {
            "prep": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.name", "value": "Asha"}],
                "next": "call",
            },
            "call": {"type": "webhook", **widget, "exits": {"0": "end", "1": "end"}},
            "end": {"type": "end"},
        },
        **extra,
    }


# body type NONE -------------------------------------------------------------------------


async def test_saved_webhook_with_body_none_sends_the_default_payload_from_a_widget(
    api: Any,
) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        await save(api, key, name="crm", url=rec.url, body_type="NONE")
        execution = await run_flow(api, key, flow_calling({"webhook": "crm"}))
        got = (await rec.wait_for(1))[0]
    assert got.headers["Content-Type"] == "application/json"
    payload = got.json()
    assert payload["phonon-uuid"] == execution["uuid"]
    assert payload["flowStatus"] == "RUNNING"  # sent from the main path: no outcome yet
    assert "endTime" not in payload and "test" not in payload
    assert {"name": "$flow.key.name", "value": "Asha"} in payload["keys"]
    step = next(s for s in execution["steps"] if s["widget"] == "call")
    assert step["request"]["body"] == got.body.decode()
    assert execution["variables"]["$flow.key.response_status"] == "SUCCESS"


async def test_saved_body_none_fire_and_forget_is_json_the_documented_snippets_verify(
    api: Any,
) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        await save(api, key, name="crm", url=rec.url, body_type="NONE")
        execution = await run_flow(
            api, key, flow_calling({"webhook": "crm", "wait_for_response": False})
        )
        got = (await rec.wait_for(1))[0]
    assert got.headers["Content-Type"] == "application/json"
    payload = verified_by_the_documented_snippets(await signing_secret(api, key), got)
    assert payload == got.json()
    assert payload["phonon-uuid"] == execution["uuid"]
    assert {"name": "$flow.key.name", "value": "Asha"} in payload["keys"]


async def test_a_custom_request_with_body_none_sends_no_body(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        widget = {"webhook": "custom", "request": {"method": "GET", "url": rec.url}}
        await run_flow(api, key, flow_calling(widget))
        got = (await rec.wait_for(1))[0]
    assert got.method == "GET" and got.body == b""


async def test_check_of_a_body_none_webhook_sends_the_sample_as_signed_json(api: Any) -> None:
    _, key = await api.account(http_enabled=True)
    async with receiver() as rec:
        status, result = await api.request(
            "POST", "/v1/webhooks/check", key=key, json={"url": rec.url, "body_type": "NONE"}
        )
        assert status == 200 and result["ok"] is True, result
        got = (await rec.wait_for(1))[0]
    assert got.headers["Content-Type"] == "application/json"
    payload = verified_by_the_documented_snippets(await signing_secret(api, key), got)
    assert payload["test"] is True and payload["flowStatus"] == "COMPLETED"
    names = {k["name"] for k in payload["keys"]}
    assert "$flow.key.lookup.response_status_code" in names
    assert not names & {"$flow.key.response_raw", "$flow.key.response_status_code"}


# flow-complete keys ---------------------------------------------------------------------


async def test_flow_complete_keys_carry_each_webhook_widgets_results_under_its_own_name(
    api: Any,
) -> None:
    """The main path's call answers 200 and maps a value; the on_flow_complete path's
    fire-and-forget call runs later. The flow-complete message keeps both apart."""
    _, key = await api.account(http_enabled=True)
    async with receiver() as crm, receiver() as notify, receiver() as hook:
        crm.default = (200, {"ref": "R-1"}, {})
        await save(api, key, name="default", url=hook.url, is_default=True)
        flow = {
            "name": "two_calls",
            "webhook_enabled": True,
            "entry": {"start": "prep", "on_flow_complete": "notify"},
            "widgets": {
                "prep": {
                    "type": "store_variable",
                    "assignments": [{"variable": "$flow.key.name", "value": "Asha"}],
                    "next": "crm",
                },
                "crm": {
                    "type": "webhook",
                    "request": {"url": crm.url, "body_type": "JSON", "body": {"n": "x"}},
                    "response_map": {"$flow.key.ref": "data.ref"},
                    "exits": {"0": "end", "1": "end"},
                },
                "end": {"type": "end"},
                "notify": {
                    "type": "webhook",
                    "wait_for_response": False,
                    "request": {
                        "url": notify.url,
                        "body_type": "JSON",
                        "body": {"crm": "$flow.key.crm.response_status_code"},
                    },
                },
            },
        }
        execution = await run_flow(api, key, flow)
        told = (await notify.wait_for(1))[0]
        got = (await hook.wait_for(1))[0]
    keys = {k["name"]: k["value"] for k in got.json()["keys"]}
    # the flow's own variables, the mapped value included
    assert keys["$flow.key.name"] == "Asha" and keys["$flow.key.ref"] == "R-1"
    # each widget's results under its own name: the later call erased nothing
    assert keys["$flow.key.crm.response_status"] == "SUCCESS"
    assert keys["$flow.key.crm.response_status_code"] == 200
    assert keys["$flow.key.crm.response_status_type"] == "SUCCESSFUL"
    assert keys["$flow.key.crm.response_error"] is False
    assert keys["$flow.key.crm.error_reason"] is None
    assert keys["$flow.key.notify.response_status"] == "SUCCESS"
    assert keys["$flow.key.notify.response_status_code"] is None  # fire-and-forget
    # no shared bookkeeping: no raw body, no last-call values that depend on the order
    assert not [
        name for name in keys if re.fullmatch(r"\$flow\.key\.(response_\w+|error_reason)", name)
    ]
    assert not [name for name in keys if name.endswith(".response_raw")]
    # the flow itself still reads the last call's shared variables, and each widget's own
    assert execution["variables"]["$flow.key.response_status_code"] is None
    assert told.json() == {"crm": 200}
