"""Bounded inputs: text no database can store (a NUL, a lone surrogate) and flow documents
that would expand or nest beyond reason are refused with a 4xx and a stable code, the same
on SQLite and PostgreSQL, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.app import Api, error_code
from support.flows import two_step_flow

FLOW: dict[str, Any] = two_step_flow("bounds", variable="$flow.key.x", value="$flow.key.in")

JSON_HEADERS = {"Content-Type": "application/json"}


async def _flow(api: Api, key: str) -> str:
    status, body = await api.request("POST", "/v1/flows", key=key, json=FLOW)
    assert status == 201, body
    flow_id: str = body["flow_id"]
    return flow_id


def _raw(value: str) -> bytes:
    """JSON text with ``value`` written as an escape (``\\u0000``, ``\\ud800``)."""
    return json.dumps(value).encode()


# NUL ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/webhooks/%00x",
        "/v1/deliveries/%00",
        "/v1/deliveries?execution=%00",
        "/v1/deliveries?webhook=%00",
        "/v1/executions/%00",
        "/v1/executions?flow_id=%00",
        "/v1/flows/%00",
    ],
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_nul_in_the_path_or_query_is_refused(api_any: Api, path: str) -> None:
    _, key = await api_any.account()
    status, body = await api_any.request("GET", path, key=key)
    assert status == 422, body
    assert error_code(body) == "NUL_NOT_ALLOWED"


async def test_a_nul_in_the_trigger_path_is_refused(api_any: Api) -> None:
    _, key = await api_any.account()
    status, body = await api_any.request(
        "POST", "/v1/flows/%00x/executions", key=key, json={"version": "test"}
    )
    assert status == 422, body
    assert error_code(body) == "NUL_NOT_ALLOWED"


async def test_a_nul_in_a_webhook_name_is_refused(api_any: Api) -> None:
    _, key = await api_any.account()
    raw = b'{"name": "crm' + b"\\u0000" + b'", "url": "https://127.0.0.1/hook"}'
    status, body = await api_any.request(
        "POST", "/v1/webhooks", key=key, data=raw, headers=JSON_HEADERS
    )
    assert status == 422, body
    assert error_code(body) == "NUL_NOT_ALLOWED"
    status, listed = await api_any.request("GET", "/v1/webhooks", key=key)
    assert status == 200 and listed["webhooks"] == [], listed


async def test_a_nul_in_the_account_short_domain_is_refused(api_any: Api) -> None:
    _, key = await api_any.account()
    raw = b'{"short_domain": "s' + b"\\u0000" + b'.example.com"}'
    status, body = await api_any.request(
        "PUT", "/v1/account/settings", key=key, data=raw, headers=JSON_HEADERS
    )
    assert status == 422, body
    assert error_code(body) == "NUL_NOT_ALLOWED"
    status, settings = await api_any.request("GET", "/v1/account/settings", key=key)
    assert status == 200 and settings["short_domain"] is None, settings


@pytest.mark.parametrize("fast_trigger", [True, False], ids=["fast_path", "fastapi"])
async def test_a_nul_in_a_nested_trigger_variable_is_refused(
    api_any: Api, fast_trigger: bool
) -> None:
    api_any.app.fast_trigger = fast_trigger
    _, key = await api_any.account()
    flow_id = await _flow(api_any, key)
    raw = b'{"version": "test", "variables": {"$flow.key.in": {"a": ["ok", "x\\u0000y"]}}}'
    status, body = await api_any.request(
        "POST", f"/v1/flows/{flow_id}/executions", key=key, data=raw, headers=JSON_HEADERS
    )
    assert status == 422, body
    assert error_code(body) == "NUL_NOT_ALLOWED"
    assert body["error"]["details"] == [
        {"path": "$.variables.$flow.key.in.a[1]", "message": "contains a NUL character (\\u0000)"}
    ]


async def test_a_nul_in_a_flow_definition_is_refused_as_json_and_as_yaml(api_any: Api) -> None:
    _, key = await api_any.account()
    raw = json.dumps(FLOW).replace('"$flow.key.in"', '"in\\u0000"').encode()
    status, body = await api_any.request(
        "POST", "/v1/flows", key=key, data=raw, headers=JSON_HEADERS
    )
    assert status == 422, body
    assert error_code(body) == "NUL_NOT_ALLOWED"
    yaml_doc = (
        "name: bounds\nentry: {start: a}\nwidgets:\n  a:\n    type: store_variable\n"
        '    assignments:\n      - {variable: $flow.key.x, value: "in\\0"}\n'
    )
    status, body = await api_any.request(
        "POST",
        "/v1/flows",
        key=key,
        data=yaml_doc.encode(),
        headers={"Content-Type": "application/yaml"},
    )
    assert status == 422, body
    assert error_code(body) == "NUL_NOT_ALLOWED"
    status, flows = await api_any.request("GET", "/v1/flows", key=key)
    assert status == 200 and flows["flows"] == [], flows


# lone surrogates ----------------------------------------------------------------------


@pytest.mark.parametrize("fast_trigger", [True, False], ids=["fast_path", "fastapi"])
@pytest.mark.parametrize("value", ["\ud800", "a\udfffb"])
@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_lone_surrogate_in_a_trigger_variable_is_refused(
    api_any: Api, fast_trigger: bool, value: str
) -> None:
    api_any.app.fast_trigger = fast_trigger
    _, key = await api_any.account()
    flow_id = await _flow(api_any, key)
    raw = b'{"version": "test", "variables": {"$flow.key.in": ' + _raw(value) + b"}}"
    status, body = await api_any.request(
        "POST", f"/v1/flows/{flow_id}/executions", key=key, data=raw, headers=JSON_HEADERS
    )
    assert status == 422, body
    assert error_code(body) == "INVALID_TEXT"


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_surrogate_pair_is_text_and_accepted(api_any: Api) -> None:
    """An escaped emoji (``\\ud83d\\ude00``, as ``ensure_ascii`` encoders write it) is a
    valid pair: the execution runs and keeps it."""
    _, key = await api_any.account()
    flow_id = await _flow(api_any, key)
    raw = b'{"version": "test", "variables": {"$flow.key.in": "hi \\ud83d\\ude00"}}'
    status, body = await api_any.request(
        "POST", f"/v1/flows/{flow_id}/executions", key=key, data=raw, headers=JSON_HEADERS
    )
    assert status == 202, body
    execution = await api_any.wait_for(body["uuid"], key)
    assert execution["variables"]["$flow.key.x"] == "hi \U0001f600"


@pytest.mark.parametrize(
    ("method", "path", "raw"),
    [
        ("POST", "/v1/webhooks", b'{"name": "\\ud800", "url": "https://127.0.0.1/hook"}'),
        ("PUT", "/v1/account/settings", b'{"short_domain": "\\udc00.example.com"}'),
        ("POST", "/v1/flows", json.dumps(FLOW).replace('"bounds"', '"\\ud800"').encode()),
        ("POST", "/v1/short-urls", b'{"url": "https://127.0.0.1/\\ud800"}'),
        ("POST", "/centraloutboundwebhook-v1/test/", b'{"method": "\\ud800"}'),
    ],
)
async def test_a_lone_surrogate_in_any_json_body_is_refused(
    api_any: Api, method: str, path: str, raw: bytes
) -> None:
    _, key = await api_any.account()
    status, body = await api_any.request(method, path, key=key, data=raw, headers=JSON_HEADERS)
    assert status == 422, body
    assert error_code(body) == "INVALID_TEXT"


async def test_a_lone_surrogate_in_a_yaml_flow_is_refused(api_any: Api) -> None:
    _, key = await api_any.account()
    yaml_doc = (
        "name: bounds\nentry: {start: a}\nwidgets:\n  a:\n    type: store_variable\n"
        '    assignments:\n      - {variable: $flow.key.x, value: "\\ud800"}\n'
    )
    status, body = await api_any.request(
        "POST",
        "/v1/flows",
        key=key,
        data=yaml_doc.encode(),
        headers={"Content-Type": "application/yaml"},
    )
    # libyaml refuses a surrogate escape as malformed; PyYAML's own parser reads it
    assert (status, error_code(body)) in ((400, "MALFORMED_YAML"), (422, "INVALID_TEXT"))
    status, flows = await api_any.request("GET", "/v1/flows", key=key)
    assert status == 200 and flows["flows"] == [], flows


# flow documents: aliases, depth, size ----------------------------------------------------

YAML_HEADERS = {"Content-Type": "application/yaml"}


def _alias_bomb(levels: int) -> str:
    """A YAML flow whose one value is 10^levels strings written through aliases."""
    lines = ["a0: &a0 [xxxxxxxxxx, xxxxxxxxxx, xxxxxxxxxx, xxxxxxxxxx, xxxxxxxxxx]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return (
        "description: x\nbombs:\n"
        + "\n".join(f"  {line}" for line in lines)
        + "\nname: bomb\nentry: {start: a}\nwidgets:\n  a:\n    type: store_variable\n"
        + f"    assignments:\n      - variable: $flow.key.x\n        value: *a{levels - 1}\n"
    )


async def test_a_yaml_flow_with_aliases_is_refused_not_expanded(api_any: Api) -> None:
    """10 KB of YAML aliases stood for an 11 MB flow; anchors and aliases are refused."""
    _, key = await api_any.account()
    doc = _alias_bomb(6)
    status, body = await api_any.request(
        "POST", "/v1/flows", key=key, data=doc.encode(), headers=YAML_HEADERS
    )
    assert status == 422, body
    assert error_code(body) == "YAML_ALIAS_FORBIDDEN"
    status, flows = await api_any.request("GET", "/v1/flows", key=key)
    assert status == 200 and flows["flows"] == [], flows


async def test_a_yaml_anchor_in_a_replaced_flow_is_refused(api_any: Api) -> None:
    _, key = await api_any.account()
    flow_id = await _flow(api_any, key)
    doc = b"name: bounds\nentry: {start: a}\nwidgets:\n  a: &w\n    type: end\n  b: *w\n"
    status, body = await api_any.request(
        "PUT", f"/v1/flows/{flow_id}", key=key, data=doc, headers=YAML_HEADERS
    )
    assert status == 422, body
    assert error_code(body) == "YAML_ALIAS_FORBIDDEN"


@pytest.mark.parametrize(
    ("content_type", "doc"),
    [
        ("application/yaml", "name: deep\nentry: {start: a}\nx: " + "[" * 120_000 + "]" * 120_000),
        ("application/yaml", "- " * 100_000 + "y"),
        ("application/json", '{"x": ' + "[" * 120_000 + "]" * 120_000 + "}"),
    ],
    ids=["yaml_flow_style", "yaml_block_style", "json"],
)
async def test_a_flow_nested_thousands_deep_is_refused_as_too_deep(
    api_any: Api, content_type: str, doc: str
) -> None:
    _, key = await api_any.account()
    status, body = await api_any.request(
        "POST", "/v1/flows", key=key, data=doc.encode(), headers={"Content-Type": content_type}
    )
    assert status == 422, body
    assert error_code(body) == "NESTED_TOO_DEEP"


async def test_a_flow_larger_than_flow_max_bytes_is_refused(api_with: Any) -> None:
    async with api_with(flow_max_bytes=4_000) as api:
        _, key = await api.account()
        small = {**FLOW, "description": "d" * 100}
        status, body = await api.request("POST", "/v1/flows", key=key, json=small)
        assert status == 201, body
        big = {**FLOW, "description": "d" * 5_000}
        status, body = await api.request("POST", "/v1/flows", key=key, json=big)
        assert status == 413, body
        assert error_code(body) == "FLOW_TOO_LARGE"
        assert body["error"]["details"]["max_bytes"] == 4_000
        flow_id = (await api.request("GET", "/v1/flows", key=key))[1]["flows"][0]["flow_id"]
        yaml_doc = json.dumps(big).encode()  # JSON is YAML too
        status, body = await api.request(
            "PUT", f"/v1/flows/{flow_id}", key=key, data=yaml_doc, headers=YAML_HEADERS
        )
        assert status == 413, body
        assert error_code(body) == "FLOW_TOO_LARGE"
