"""The trigger's bare ASGI endpoint answers exactly as FastAPI's handling of the same
declaration does: each request is sent to the real server (the fast path) and to a
reference server — the same app on the same runtime with the fast path turned off — and
both answers must be equal (ids of a new execution aside)."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowhook.api import trigger
from flowhook.api.app import create_app
from support.app import Api, free_socket

GREET: dict[str, Any] = {
    "name": "greet",
    "type": "outbound",
    "entry": {"start": "a"},
    "widgets": {
        "a": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.greeting", "value": "hi $flow.key.name"}],
        }
    },
}


@asynccontextmanager
async def fastapi_reference(api: Api) -> AsyncIterator[str]:
    """The app as FastAPI alone would serve it, on another port of the same runtime."""
    app = create_app(api.settings, runtime=api.runtime)
    app.fast_trigger = False
    app.state.runtime = api.runtime  # no lifespan: the runtime is already running
    sock = free_socket()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class Pair:
    """Sends one request to the plain route and to the FastAPI reference."""

    def __init__(self, api: Api, reference_url: str) -> None:
        self.api = api
        self.reference_url = reference_url

    async def _send(self, base_url: str, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.api.session.request(method, base_url + path, **kwargs) as resp:
            raw = await resp.read()
        body: Any = json.loads(raw) if raw else None
        if resp.status == 202:  # a new execution's ids differ: only their presence counts
            assert set(body) == {"uuid", "request_id"}, body
            body = {name: "<id>" for name in body}
        return resp.status, body

    async def both(
        self,
        path: str,
        *,
        key: str | None = None,
        method: str = "POST",
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        """The plain route's (status, body), after checking that FastAPI's is the same."""
        headers = dict(headers or {})
        if key:
            headers["Authorization"] = f"Bearer {key}"
        fast = await self._send(self.api.base_url, method, path, headers=headers, **kwargs)
        reference = await self._send(self.reference_url, method, path, headers=headers, **kwargs)
        assert fast == reference, f"plain route {fast} != FastAPI {reference}"
        return fast


@pytest.fixture
async def pair(api: Api) -> AsyncIterator[Pair]:
    async with fastapi_reference(api) as reference_url:
        yield Pair(api, reference_url)


@pytest.fixture
async def greet(api: Api) -> tuple[str, str]:
    """An account's API key and its unpublished GREET flow."""
    _, key = await api.account()
    return key, await create_flow(api, key, GREET)


async def create_flow(api: Api, key: str, doc: dict[str, Any], publish: bool = False) -> str:
    status, body = await api.request("POST", "/v1/flows", key=key, json=doc)
    assert status == 201, body
    flow_id: str = body["flow_id"]
    if publish:
        status, body = await api.request("POST", f"/v1/flows/{flow_id}/publish", key=key)
        assert status == 200, body
    return flow_id


def executions(flow_id: str) -> str:
    return f"/v1/flows/{flow_id}/executions"


def error(body: Any) -> tuple[str, Any]:
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]["code"], body["error"]["details"]


async def test_the_trigger_does_not_go_through_starlettes_stack(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path answers before routing: with the router broken, triggers still work
    (and every other route fails)."""
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    app = api.app

    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the trigger went through Starlette")

    monkeypatch.setattr(app, "middleware_stack", broken)
    status, body = await api.request("POST", executions(flow_id), key=key, json={"version": "test"})
    assert status == 202, body
    assert set(body) == {"uuid", "request_id"}


async def test_a_valid_trigger_is_accepted_and_runs(api: Api, pair: Pair) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET, publish=True)
    body = {"variables": {"$flow.key.name": "Asha"}}
    assert await pair.both(executions(flow_id), key=key, json=body) == (
        202,
        {"uuid": "<id>", "request_id": "<id>"},
    )
    status, answer = await api.request("POST", executions(flow_id), key=key, json=body)
    assert status == 202
    execution = await api.wait_for(answer["uuid"], key)
    assert execution["status"] == "COMPLETED" and execution["version"] == "prod"
    assert execution["variables"]["$flow.key.greeting"] == "hi Asha"
    assert execution["request_id"] == answer["request_id"]


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "UNAUTHORIZED"),
        ("Bearer ", "UNAUTHORIZED"),
        ("Basic dXNlcjpwYXNz", "UNAUTHORIZED"),
        ("Bearer not-a-key", "INVALID_API_KEY"),
    ],
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_missing_or_invalid_api_key_is_401(
    api: Api, pair: Pair, authorization: str | None, code: str
) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    headers = {"Authorization": authorization} if authorization is not None else {}
    status, body = await pair.both(executions(flow_id), headers=headers, json={"version": "test"})
    assert status == 401 and error(body)[0] == code


async def test_a_caller_outside_the_ip_whitelist_is_403(api: Api, pair: Pair) -> None:
    _, key = await api.account(ip_whitelist=["192.0.2.0/24"])
    status, body = await pair.both(executions("any"), key=key, json={"version": "test"})
    assert status == 403 and error(body)[0] == "IP_NOT_WHITELISTED"
    _, allowed = await api.account("allowed", ip_whitelist=["192.0.2.0/24", "127.0.0.0/8"])
    flow_id = await create_flow(api, allowed, GREET)
    status, _ = await pair.both(executions(flow_id), key=allowed, json={"version": "test"})
    assert status == 202


async def test_an_unknown_flow_or_another_accounts_flow_is_404_flow_not_found(
    api: Api, pair: Pair
) -> None:
    _, mine = await api.account("mine")
    _, theirs = await api.account("theirs")
    their_flow = await create_flow(api, theirs, GREET, publish=True)
    for flow_id in ("no-such-flow", their_flow):
        status, body = await pair.both(executions(flow_id), key=mine, json={})
        assert status == 404 and error(body)[0] == "FLOW_NOT_FOUND", flow_id
    # a NUL in the path is refused before any lookup (issue 12: the same 422 everywhere)
    status, body = await pair.both(executions("a\x00b"), key=mine, json={})
    assert status == 422 and error(body)[0] == "NUL_NOT_ALLOWED"


async def test_prod_before_publishing_is_404_flow_version_not_found(api: Api, pair: Pair) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    for body in ({}, {"version": "prod"}):
        status, answer = await pair.both(executions(flow_id), key=key, json=body)
        assert status == 404 and error(answer)[0] == "FLOW_VERSION_NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"version": "staging"}, ["$.version"]),
        ({"version": None}, ["$.version"]),
        ({"cli": 9876543210}, ["$.cli"]),
        ({"dnis": "9" * 33}, ["$.dnis"]),
        ({"variables": ["$flow.key.x"]}, ["$.variables"]),
        ({"variables": {f"$flow.key.v{i}": i for i in range(1001)}}, ["$.variables"]),
        ({"unknown": 1}, ["$.unknown"]),
        ({"body": 1}, ["$.body"]),
        (
            {"version": 1, "cli": [], "dnis": {}, "variables": "x", "extra": True},
            ["$.version", "$.cli", "$.dnis", "$.variables", "$.extra"],
        ),
        (None, ["$"]),
        ([], ["$"]),
        ("version=test", ["$"]),
        (42, ["$"]),
    ],
)
async def test_invalid_fields_are_422_with_the_path_of_each(
    api: Api, pair: Pair, body: Any, paths: list[str]
) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    status, answer = await pair.both(executions(flow_id), key=key, json=body)
    assert status == 422
    code, details = error(answer)
    assert code == "VALIDATION_FAILED"
    assert [d["path"] for d in details] == paths
    assert all(d["message"] for d in details)


@pytest.mark.parametrize(
    ("raw", "content_type", "paths"),
    [
        (b"", "application/json", ["$"]),
        (b'{"version": "test"}', None, ["$"]),
        (b'{"version": "test"}', "text/plain", ["$"]),
        (b"version=test", "application/x-www-form-urlencoded", ["$"]),
    ],
)
async def test_an_empty_body_or_one_that_is_not_json_is_422(
    api: Api, pair: Pair, raw: bytes, content_type: str | None, paths: list[str]
) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    headers = {"Content-Type": content_type} if content_type else {}
    # aiohttp adds application/octet-stream to bytes without a content type: skip that
    status, answer = await pair.both(
        executions(flow_id), key=key, data=raw, headers=headers, skip_auto_headers=["Content-Type"]
    )
    assert status == 422
    code, details = error(answer)
    assert code == "VALIDATION_FAILED" and [d["path"] for d in details] == paths


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/vnd.flowhook+json"]
)
async def test_json_under_any_json_content_type_is_read(
    api: Api, pair: Pair, content_type: str
) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    status, _ = await pair.both(
        executions(flow_id),
        key=key,
        data=b'{"version": "test"}',
        headers={"Content-Type": content_type},
    )
    assert status == 202


@pytest.mark.parametrize(
    "raw", [b'{"version": "test", "variables": {', b"{'version': 'test'}", b"{}x", b"nul"]
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_malformed_json_is_400_before_the_key_is_checked(
    api: Api, pair: Pair, raw: bytes
) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    headers = {"Content-Type": "application/json"}
    for sent in (key, None, "not-a-key"):
        status, body = await pair.both(executions(flow_id), key=sent, data=raw, headers=headers)
        assert status == 400 and error(body)[0] == "MALFORMED_JSON"


async def test_the_key_is_checked_before_the_fields(api: Api, pair: Pair) -> None:
    status, body = await pair.both(executions("any"), json={"version": "staging", "x": 1})
    assert status == 401 and error(body)[0] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    ("fields", "code", "path"),
    [
        ({"variables": {"flow.key.x x": 1}}, "INVALID_VARIABLE_NAME", "$.variables.flow.key.x x"),
        (
            {"variables": {"$flow.key.n": math.nan}},
            "INVALID_VARIABLE_VALUE",
            "$.variables.$flow.key.n",
        ),
        ({"dnis": "12"}, "INVALID_CONTACT_NUMBER", None),
    ],
)
async def test_variable_and_number_checks_are_422_with_their_codes(
    api: Api, pair: Pair, fields: dict[str, Any], code: str, path: str | None
) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    raw = json.dumps({"version": "test", **fields}, allow_nan=True).encode()
    headers = {"Content-Type": "application/json"}
    status, body = await pair.both(executions(flow_id), key=key, data=raw, headers=headers)
    assert status == 422
    got, details = error(body)
    assert got == code
    if path:
        assert details[0]["path"] == path


async def test_deeply_nested_variables_are_refused_with_the_path(api: Api, pair: Pair) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    nested: Any = "deep"
    for _ in range(100):
        nested = [nested]
    body = {"version": "test", "variables": {"$flow.key.deep": nested}}
    status, answer = await pair.both(executions(flow_id), key=key, json=body)
    assert status == 422
    code, details = error(answer)
    assert code == "INVALID_VARIABLE_VALUE"
    assert details[0]["path"].startswith("$.variables.$flow.key.deep[0][0]")


async def test_a_body_over_the_limit_is_413_whether_its_length_is_announced_or_not(
    api: Api, pair: Pair
) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    big = {"version": "test", "variables": {"$flow.key.big": "x" * 300_000}}
    status, body = await pair.both(executions(flow_id), key=key, json=big)
    assert status == 413 and error(body)[0] == "PAYLOAD_TOO_LARGE"

    async def chunks() -> AsyncIterator[bytes]:
        raw = json.dumps(big).encode()
        for start in range(0, len(raw), 64 * 1024):
            yield raw[start : start + 64 * 1024]

    for base_url in (api.base_url, pair.reference_url):
        async with api.session.post(
            base_url + executions(flow_id),
            data=chunks(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        ) as resp:
            assert resp.status == 413, base_url
            assert error(await resp.json())[0] == "PAYLOAD_TOO_LARGE"


async def test_other_methods_are_405(api: Api, pair: Pair) -> None:
    _, key = await api.account()
    for method in ("GET", "PUT", "DELETE"):
        status, body = await pair.both(executions("any"), key=key, method=method)
        assert status == 405 and error(body)[0] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    "raw",
    [b"[" * 100_000 + b"]" * 100_000, b'{"version": "t\xffst"}'],
    ids=["nested-100000-deep", "not-utf-8"],
)
async def test_json_that_cannot_be_read_is_400_malformed_json(api: Api, raw: bytes) -> None:
    """The one deliberate difference: FastAPI answers these 400 HTTP_ERROR ("There was an
    error parsing the body"); the trigger says what is wrong, as POST /v1/flows does."""
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    status, body = await api.request(
        "POST",
        executions(flow_id),
        key=key,
        data=raw,
        headers={"Content-Type": "application/json"},
    )
    assert status == 400 and error(body)[0] == "MALFORMED_JSON"


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_the_openapi_document_still_lists_the_trigger(api: Api) -> None:
    status, schema = await api.request("GET", "/openapi.json")
    assert status == 200
    operation = schema["paths"][trigger.PATH]["post"]
    assert "202" in operation["responses"]
    assert [p["name"] for p in operation["parameters"]] == ["flow_id"]
    body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    model = schema["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert set(model["properties"]) == {"version", "cli", "dnis", "variables"}
    assert model["additionalProperties"] is False


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["prod", "test", "9876543210", "+919876543210", "$flow.key.x"])
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=12,
)
NAMES = st.sampled_from(["$flow.key.x", "$user.key.y", "flow.key.z", "x", "$call.cli.number"])
TRIGGERS = st.fixed_dictionaries(
    {},
    optional={
        "version": st.sampled_from(["prod", "test"]) | VALUES,
        "cli": st.sampled_from(["9876543210", "12"]) | VALUES,
        "dnis": st.sampled_from(["+919876543210", "abc"]) | VALUES,
        "variables": st.dictionaries(NAMES | st.text(max_size=8), VALUES, max_size=4) | VALUES,
        "other": VALUES,
    },
)


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=TRIGGERS | VALUES)
async def test_any_json_body_gets_the_same_answer_as_from_fastapi(
    pair: Pair, greet: tuple[str, str], body: Any
) -> None:
    key, flow_id = greet
    raw = json.dumps(body, allow_nan=True).encode()
    headers = {"Content-Type": "application/json"}
    status, answer = await pair.both(executions(flow_id), key=key, data=raw, headers=headers)
    assert status in (202, 404, 422), answer


@pytest.mark.parametrize(
    "body",
    [
        {"cli": "9" * 32, "dnis": "+91" + "9" * 29},
        {"cli": None, "dnis": None, "variables": {}},
        {"variables": None},
        {"version": "test", "variables": {f"$flow.key.v{i}": i for i in range(1000)}},
        {"variables": {"$flow.key.x": 1}, "version": "prod", "cli": "", "dnis": ""},
    ],
)
async def test_bodies_at_the_models_bounds_get_fastapis_answer(
    api: Api, pair: Pair, body: Any
) -> None:
    # the endpoint checks a plain body without building the model: at each bound, the
    # same answer as the model's
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET, publish=True)
    status, answer = await pair.both(executions(flow_id), key=key, json=body)
    assert status in (202, 422), answer
