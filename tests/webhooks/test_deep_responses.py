"""A response mapped into the state is bounded where it enters it (depth, size, text), so an
API answering something the state cannot hold fails the webhook widget once — exit 1,
``MAPPING_FAILED`` — instead of crashing the worker into calling the API again and again,
and every stored execution can still be read.

A real local receiver answers; the flow runs in the real worker, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from flowhook.engine import widget as widget_registry
from flowhook.engine.context import StepContext
from flowhook.engine.widget import Exit, Outcome, Widget, WidgetConfig, load_plugins
from support.app import Api
from support.receiver import Receiver, receiver


def mapping_flow(url: str) -> dict[str, Any]:
    return {
        "name": "deep",
        "entry": {"start": "call"},
        "widgets": {
            "call": {
                "type": "webhook",
                "request": {"method": "GET", "url": url},
                "response_map": {"$flow.key.data": "data"},
                "exits": {"0": "ok", "1": "bad"},
            },
            "ok": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.path", "value": "success"}],
            },
            "bad": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.path", "value": "failure"}],
            },
        },
    }


async def run_against(api: Api, rec: Receiver) -> tuple[str, str, dict[str, Any]]:
    """Run the flow once against ``rec``; the key, the execution's uuid and what
    ``GET /v1/executions/{uuid}`` answered when it ended."""
    _, key = await api.account(http_enabled=True)
    status, created = await api.request("POST", "/v1/flows", key=key, json=mapping_flow(rec.url))
    assert status == 201, created
    status, started = await api.request(
        "POST", f"/v1/flows/{created['flow_id']}/executions", key=key, json={"version": "test"}
    )
    assert status == 202, started
    execution = await api.wait_for(started["uuid"], key, timeout=30)
    return key, started["uuid"], execution


def assert_mapping_failed_once(rec: Receiver, execution: dict[str, Any], why: str) -> None:
    assert len(rec.received) == 1
    assert execution["status"] == "COMPLETED", execution["error_reason"]
    variables = execution["variables"]
    assert variables["$flow.key.path"] == "failure"
    assert variables["$flow.key.error_reason"] == "MAPPING_FAILED"
    assert variables["$flow.key.response_status_code"] == 200
    assert "$flow.key.data" not in variables
    step = next(s for s in execution["steps"] if s["widget"] == "call")
    assert step["exit"] == "1"
    assert any(why in warning for warning in step["warnings"]), step["warnings"]


def deep_json(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def deep_xml(depth: int) -> bytes:
    return b"<a>" * depth + b"x" + b"</a>" * depth


XML = {"Content-Type": "application/xml"}
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (deep_json(5_000), JSON),
        (deep_json(900), JSON),
        (deep_json(65), JSON),
        (deep_xml(5_000), XML),
        (deep_xml(900), XML),
        (deep_xml(65), XML),
        (deep_json(5_000), {"Content-Type": "text/plain"}),  # undeclared: tried as JSON
    ],
    ids=["json_5000", "json_900", "json_65", "xml_5000", "xml_900", "xml_65", "undeclared"],
)
async def test_a_response_nested_too_deep_fails_the_widget_once(
    api_any: Api, body: bytes, headers: dict[str, str]
) -> None:
    async with receiver() as rec:
        rec.default = (200, body, headers)
        key, uuid, execution = await run_against(api_any, rec)
        assert_mapping_failed_once(rec, execution, "nests more than 64 levels deep")
        status, again = await api_any.request("GET", f"/v1/executions/{uuid}", key=key)
        assert status == 200, again


@pytest.mark.parametrize(
    ("body", "headers"), [(deep_json(63), JSON), (deep_xml(64), XML)], ids=["json", "xml"]
)
async def test_a_response_at_the_depth_limit_is_mapped(
    api_any: Api, body: bytes, headers: dict[str, str]
) -> None:
    async with receiver() as rec:
        rec.default = (200, body, headers)
        _, _, execution = await run_against(api_any, rec)
    assert execution["variables"]["$flow.key.path"] == "success"
    mapped = execution["variables"]["$flow.key.data"]
    depth = 0
    while isinstance(mapped, dict):
        mapped, depth = mapped["a"], depth + 1
    assert (depth, mapped) == (63, 1 if headers is JSON else "x")


async def test_mapped_values_larger_than_the_bound_fail_the_widget_once(api_any: Api) -> None:
    big = {"text": "x" * (api_any.settings.response_map_max_bytes + 1)}
    async with receiver() as rec:
        rec.default = (200, big, {})
        _, _, execution = await run_against(api_any, rec)
    assert_mapping_failed_once(rec, execution, "bytes of JSON, more than")


@pytest.mark.parametrize(
    ("escaped", "why"),
    [("a\\u0000b", "NUL character"), ("\\ud800", "lone UTF-16 surrogate")],
    ids=["nul", "lone_surrogate"],
)
async def test_mapped_text_no_database_can_store_fails_the_widget_once(
    api_any: Api, escaped: str, why: str
) -> None:
    async with receiver() as rec:
        rec.default = (200, ('{"v": ["ok", "' + escaped + '"]}').encode(), JSON)
        key, uuid, execution = await run_against(api_any, rec)
        assert_mapping_failed_once(rec, execution, why)
        status, again = await api_any.request("GET", f"/v1/executions/{uuid}", key=key)
        assert status == 200, again
        assert json.dumps(again)  # the answer is plain JSON


# the engine, whatever a widget puts into the state -------------------------------------


class DeepValueConfig(WidgetConfig):
    depth: int = 2_000


class DeepValue(Widget[DeepValueConfig]):
    """A plug-in with a side effect (it counts its runs, as an API counts its calls) that
    sets a value no bound stopped: the engine must not crash on it."""

    type = "test_deep_value"
    Config = DeepValueConfig
    side_effect: ClassVar[bool] = True
    runs = 0

    async def run(self, ctx: StepContext) -> Outcome:
        DeepValue.runs += 1
        value: Any = "bottom"
        for _ in range(self.config.depth):
            value = [value]
        ctx.set("flow.key.deep", value)
        ctx.set("flow.key.fine", "kept")
        return Exit("0")


@pytest.fixture
def deep_value_widget(monkeypatch: pytest.MonkeyPatch) -> type[DeepValue]:
    load_plugins()
    monkeypatch.setitem(widget_registry._REGISTRY, DeepValue.type, DeepValue)
    DeepValue.runs = 0
    return DeepValue


@pytest.mark.parametrize("second_side_effect", [False, True], ids=["at_the_end", "checkpoint"])
@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_state_that_cannot_be_stored_fails_the_execution_once(
    api_any: Api, deep_value_widget: type[DeepValue], second_side_effect: bool
) -> None:
    """The value breaks the final save (or the checkpoint before the next side effect): the
    execution fails with STATE_NOT_STORABLE at once, the widget ran once, and it reads."""
    _, key = await api_any.account(http_enabled=True)
    widgets: dict[str, Any] = {
        "deep": {"type": "test_deep_value", "next": "again" if second_side_effect else "end"},
        "end": {"type": "end"},
    }
    if second_side_effect:
        widgets["again"] = {"type": "test_deep_value", "depth": 1, "next": "end"}
    flow = {"name": "unstorable", "entry": {"start": "deep"}, "widgets": widgets}
    status, created = await api_any.request("POST", "/v1/flows", key=key, json=flow)
    assert status == 201, created
    status, started = await api_any.request(
        "POST", f"/v1/flows/{created['flow_id']}/executions", key=key, json={"version": "test"}
    )
    assert status == 202, started
    execution = await api_any.wait_for(started["uuid"], key, timeout=30)
    assert deep_value_widget.runs == 1
    assert execution["status"] == "FAILED"
    assert execution["error_reason"] == "STATE_NOT_STORABLE"
    assert "$flow.key.deep" in execution["error_message"]
    assert execution["variables"]["$flow.key.deep"] is None
    assert execution["variables"]["$flow.key.fine"] == "kept"
