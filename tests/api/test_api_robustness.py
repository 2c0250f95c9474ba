"""Whatever a client posts, the API answers with a 2xx or a JSON 4xx, never a 500.

Hypothesis posts random JSON-ish bodies (and mutations of valid flows) to the flow and
trigger endpoints of a real server, once on SQLite and once on PostgreSQL (what one engine
stores the other may refuse: a NUL, a lone surrogate). The server runs in a thread of its
own so the property tests can stay synchronous, and lives for the module (one per engine):
``api_any``'s per-test server would be started again for every test.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.app import running_api, settings_for
from support.flows import two_step_flow
from support.postgres import PostgresServer

VALID_FLOW: dict[str, Any] = two_step_flow("robust", variable="$flow.key.x", value="$flow.key.in")


class Server:
    """A flowhook server, served from a background thread's event loop."""

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.settings = settings_for(database_url, data_dir)
        self.ready = threading.Event()
        self.stop_event: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self.key = ""
        self.flow_id = ""
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        async with running_api(self.settings) as api:
            _, self.key = await api.account()
            status, body = await api.request("POST", "/v1/flows", key=self.key, json=VALID_FLOW)
            assert status == 201, body
            self.flow_id = body["flow_id"]
            self.port = int(api.base_url.rsplit(":", 1)[1])
            self.ready.set()
            await self.stop_event.wait()

    def start(self) -> None:
        self.thread.start()
        self.ready.wait(timeout=30)
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if self.loop is not None and self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout=30)

    def post(
        self, path: str, body: bytes, content_type: str = "application/json"
    ) -> tuple[int, Any]:
        return self.request("POST", path, body, content_type)

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.key}"}
        if content_type:
            headers["Content-Type"] = content_type
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw


@pytest.fixture(scope="module", params=["sqlite", "postgres"], ids=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The server of the module, on each engine (as ``api_any`` is, for the module)."""
    tmp = tmp_path_factory.mktemp("robustness")
    database = f"robustness_{request.param}"
    if request.param == "postgres":
        postgres: PostgresServer = request.getfixturevalue("postgres_server")
        url = postgres.create_database(database)
    else:
        url = f"sqlite:///{tmp}/flowhook.db"
    running = Server(url, tmp)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        if request.param == "postgres":
            postgres.drop_database(database)


def assert_client_error_or_success(status: int, body: Any) -> None:
    assert status < 500, body
    if status >= 400:
        assert isinstance(body, dict) and set(body) == {"error"}, body
        assert {"code", "message", "details"} == set(body["error"]), body


BAD_TEXT = st.text(st.characters(categories=["Cs", "Cc", "Ll"]), max_size=4) | st.sampled_from(
    ["\x00", "a\x00b", "\ud800", "x\udfff"]
)
"""Text no database can store (NUL, lone surrogates): refused the same on both engines."""

KEYS = (
    st.sampled_from(
        [
            "name",
            "type",
            "entry",
            "start",
            "on_flow_complete",
            "widgets",
            "next",
            "exits",
            "assignments",
            "variable",
            "value",
            "seconds",
            "minutes",
            "branches",
            "conditions",
            "left",
            "op",
            "right",
            "limit",
            "operation",
            "target",
            "version",
            "variables",
            "cli",
            "dnis",
            "$flow.key.x",
            "$user.key.y",
            "a",
            "b",
        ]
    )
    | st.text(max_size=10)
    | BAD_TEXT
)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=30)
    | BAD_TEXT
    | st.sampled_from(["$flow.key.x", "${flow.key.in}", "a", "b", "end", "delay", "9876543210"])
)

JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)

WIDGET_TYPES = st.sampled_from(
    ["store_variable", "operation", "decision", "delay", "counter", "end", "bogus"]
)
WIDGET_IDS = st.sampled_from(["a", "b", "c"]) | st.text(max_size=5)

WIDGETS = st.fixed_dictionaries(
    {"type": WIDGET_TYPES},
    optional={
        "next": WIDGET_IDS,
        "exits": st.dictionaries(st.text(max_size=6), WIDGET_IDS, max_size=3),
        "assignments": st.lists(
            st.fixed_dictionaries({"variable": KEYS, "value": JSON}), max_size=3
        ),
        "seconds": JSON,
        "limit": JSON,
        "operation": st.sampled_from(["add", "divide", "substring", "format", "nope"]),
        "target": KEYS,
        "left": JSON,
        "right": JSON,
        "branches": JSON,
    },
)

FLOWS = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["ok_name", "bad name", ""]) | st.text(max_size=8),
        "entry": st.fixed_dictionaries({"start": WIDGET_IDS}, optional={"on_flow_complete": JSON}),
        "widgets": st.dictionaries(WIDGET_IDS, WIDGETS, max_size=4),
    },
    optional={"type": JSON, "webhook_enabled": JSON, "description": JSON},
)

TRIGGERS = st.fixed_dictionaries(
    {},
    optional={
        "version": st.sampled_from(["test", "prod"]) | JSON,
        "cli": st.sampled_from(["9876543210", "+919876543210", "12"]) | JSON,
        "dnis": st.sampled_from(["9876543210", "abc"]) | JSON,
        "variables": st.dictionaries(KEYS, JSON, max_size=4) | JSON,
    },
)


def dumps(value: Any) -> bytes:
    """Python's JSON, NaN and Infinity included: clients send them too."""
    return json.dumps(value, allow_nan=True).encode()


PROPERTY = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.slow
@PROPERTY
@given(body=JSON | FLOWS)
def test_posting_any_json_as_a_flow_never_gives_a_500(server: Server, body: Any) -> None:
    status, answer = server.post("/v1/flows", dumps(body))
    assert_client_error_or_success(status, answer)
    if status == 201:  # what was stored can be read back
        assert server.get(f"/v1/flows/{answer['flow_id']}")[0] == 200


@pytest.mark.slow
@PROPERTY
@given(body=JSON | TRIGGERS)
def test_posting_any_json_as_a_trigger_never_gives_a_500(server: Server, body: Any) -> None:
    path = f"/v1/flows/{server.flow_id}/executions"
    status, answer = server.post(path, dumps(body))
    assert_client_error_or_success(status, answer)
    if status == 202:  # what was stored can be read back
        assert server.get(f"/v1/executions/{answer['uuid']}")[0] == 200


@PROPERTY
@given(raw=st.binary(max_size=200))
@pytest.mark.slow  # seconds of real servers: not in make test-fast
def test_posting_any_bytes_never_gives_a_500(server: Server, raw: bytes) -> None:
    assert_client_error_or_success(*server.post("/v1/flows", raw))
    path = f"/v1/flows/{server.flow_id}/executions"
    assert_client_error_or_success(*server.post(path, raw))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused_not_stored(server: Server, value: float) -> None:
    path = f"/v1/flows/{server.flow_id}/executions"
    body = {"version": "test", "variables": {"$flow.key.in": value}}
    status, answer = server.post(path, dumps(body))
    assert status == 422, answer
    flow = {**VALID_FLOW, "widgets": {"a": {**VALID_FLOW["widgets"]["a"], "next": "b"}}}
    flow["widgets"]["a"]["assignments"] = [{"variable": "$flow.key.x", "value": value}]
    flow["widgets"]["b"] = {"type": "end"}
    status, answer = server.post("/v1/flows", dumps(flow))
    assert status == 422, answer


@pytest.mark.parametrize("depth", [100, 5_000, 100_000])
def test_deeply_nested_bodies_are_refused(server: Server, depth: int) -> None:
    raw = b"[" * depth + b"]" * depth
    for path in ("/v1/flows", f"/v1/flows/{server.flow_id}/executions"):
        status, answer = server.post(path, raw)
        assert 400 <= status < 500, answer
    flow = {**VALID_FLOW, "description": None}
    flow["widgets"] = {"a": {"type": "store_variable", "assignments": []}}
    nested = b'{"variable": "$flow.key.x", "value": ' + b"[" * depth + b"]" * depth + b"}"
    raw = dumps(flow).replace(b'"assignments": []', b'"assignments": [' + nested + b"]")
    status, answer = server.post("/v1/flows", raw)
    assert 400 <= status < 500, answer


@pytest.mark.parametrize(
    "content_type", ["application/yaml", "text/plain", "application/x-www-form-urlencoded", ""]
)
def test_other_content_types_never_give_a_500(server: Server, content_type: str) -> None:
    for raw in (b"name: x\nwidgets: [", b"- - - - - - -", b"a=1&b=2", b"{}", b"&x" * 40):
        assert_client_error_or_success(*server.post("/v1/flows", raw, content_type))


def test_a_yaml_alias_bomb_is_refused(server: Server) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    doc = (
        "bombs:\n"
        + "\n".join(f"  {line}" for line in lines)
        + "\nname: bomb\nentry: {start: a}\nwidgets:\n  a:\n    type: store_variable\n"
        + "    assignments:\n      - variable: $flow.key.x\n        value: *a8\n"
    )
    status, answer = server.post("/v1/flows", doc.encode(), "application/yaml")
    assert status == 422, answer
    assert answer["error"]["code"] == "YAML_ALIAS_FORBIDDEN", answer


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/webhooks", {"name": "a\x00", "url": "https://127.0.0.1/x"}),
        ("PUT", "/v1/account/settings", {"short_domain": "a\x00.example.com"}),
        ("POST", "/v1/flows", {**VALID_FLOW, "description": "\x00"}),
        ("POST", "TRIGGER", {"version": "test", "variables": {"$flow.key.in": ["\x00"]}}),
    ],
)
def test_a_nul_in_a_json_body_is_a_422(
    server: Server, method: str, path: str, body: dict[str, Any]
) -> None:
    path = f"/v1/flows/{server.flow_id}/executions" if path == "TRIGGER" else path
    status, answer = server.request(method, path, dumps(body), "application/json")
    assert status == 422, answer
    assert answer["error"]["code"] == "NUL_NOT_ALLOWED"
