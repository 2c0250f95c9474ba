"""Executions over the API: the trigger, one execution with its step log, the paginated
list, versions, tenant isolation, input validation and $user.key persistence."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from flowhook.runtime import Runtime
from flowhook.store import executions as execution_repo
from support import app as support
from support.app import error_code

GREET: dict[str, Any] = {
    "name": "greet",
    "type": "outbound",
    "entry": {"start": "a", "on_flow_complete": "done"},
    "widgets": {
        "a": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.greeting", "value": "hi $flow.key.name"}],
            "next": "b",
        },
        "b": {"type": "end"},
        "done": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.completed", "value": True}],
        },
    },
}

FAILING: dict[str, Any] = {
    "name": "divide_by_zero",
    "entry": {"start": "a"},
    "widgets": {
        "a": {
            "type": "operation",
            "operation": "divide",
            "left": "1",
            "right": "0",
            "target": "$flow.key.q",
        }
    },
}

LONG_WAIT: dict[str, Any] = {
    "name": "long_wait",
    "entry": {"start": "wait"},
    "widgets": {"wait": {"type": "delay", "minutes": 60}},
}


async def create_flow(api: Any, key: str, doc: dict[str, Any], publish: bool = False) -> str:
    status, body = await api.request("POST", "/v1/flows", key=key, json=doc)
    assert status == 201, body
    flow_id: str = body["flow_id"]
    if publish:
        status, body = await api.request("POST", f"/v1/flows/{flow_id}/publish", key=key)
        assert status == 200, body
    return flow_id


async def trigger(api: Any, key: str, flow_id: str, **body: Any) -> tuple[int, Any]:
    result: tuple[int, Any] = await api.request(
        "POST", f"/v1/flows/{flow_id}/executions", key=key, json=body
    )
    return result


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_trigger_answers_202_and_the_execution_completes_with_its_step_log(
    api_any: Any,
) -> None:
    _, key = await api_any.account()
    flow_id = await create_flow(api_any, key, GREET)
    status, body = await trigger(
        api_any, key, flow_id, version="test", variables={"$flow.key.name": "Asha"}
    )
    assert status == 202, body
    assert set(body) == {"uuid", "request_id"}
    execution = await api_any.wait_for(body["uuid"], key)
    assert execution["status"] == "COMPLETED"
    assert execution["uuid"] == body["uuid"]
    assert execution["request_id"] == body["request_id"]
    assert execution["flow_id"] == flow_id
    assert execution["flow_name"] == "greet"
    assert execution["version"] == "test"
    assert execution["variables"]["$flow.key.greeting"] == "hi Asha"
    assert execution["variables"]["$flow.key.completed"] is True
    assert [s["widget"] for s in execution["steps"]] == ["a", "b", "done"]
    assert execution["steps"][0]["changed"] == {"$flow.key.greeting": "hi Asha"}
    assert execution["step_count"] == 3
    assert execution["started_at"] is not None and execution["ended_at"] is not None


async def test_a_failing_flow_ends_failed_with_a_reason(api: Any) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, FAILING)
    _, body = await trigger(api, key, flow_id, version="test")
    execution = await api.wait_for(body["uuid"], key)
    assert execution["status"] == "FAILED"
    assert execution["error_reason"] == "DIVISION_BY_ZERO"


async def test_the_step_log_warns_about_unknown_variables(api: Any) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    _, body = await trigger(api, key, flow_id, version="test")
    execution = await api.wait_for(body["uuid"], key)
    assert execution["steps"][0]["warnings"] == ["unknown variable $flow.key.name left as written"]


async def test_the_accepted_trigger_is_stored_before_the_answer(api: Any) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, LONG_WAIT)
    _, body = await trigger(api, key, flow_id, version="test")
    stored = await api.runtime.store.read(lambda c: execution_repo.get(c, body["uuid"]))
    assert stored is not None
    assert stored.flow_id == flow_id


async def test_prod_is_not_found_before_publishing_then_runs_the_published_version(
    api_any: Any,
) -> None:
    _, key = await api_any.account()
    flow_id = await create_flow(api_any, key, GREET)
    status, body = await trigger(api_any, key, flow_id, version="prod")
    assert status == 404, body
    assert error_code(body) == "FLOW_VERSION_NOT_FOUND"
    status, body = await trigger(api_any, key, flow_id)  # "prod" is the default
    assert status == 404 and error_code(body) == "FLOW_VERSION_NOT_FOUND"

    status, _ = await api_any.request("POST", f"/v1/flows/{flow_id}/publish", key=key)
    assert status == 200
    # edit the test version after publishing: prod keeps what was published
    edited = {**GREET, "entry": {"start": "b", "on_flow_complete": "done"}}
    status, _ = await api_any.request("PUT", f"/v1/flows/{flow_id}", key=key, json=edited)
    assert status == 200

    _, prod = await trigger(api_any, key, flow_id, variables={"$flow.key.name": "Ravi"})
    _, test = await trigger(api_any, key, flow_id, version="test")
    prod_run = await api_any.wait_for(prod["uuid"], key)
    test_run = await api_any.wait_for(test["uuid"], key)
    assert prod_run["version"] == "prod"
    assert prod_run["variables"]["$flow.key.greeting"] == "hi Ravi"
    assert [s["widget"] for s in test_run["steps"]] == ["b", "done"]


async def test_another_account_cannot_see_my_executions(api_any: Any) -> None:
    _, mine = await api_any.account("a")
    _, theirs = await api_any.account("b")
    my_flow = await create_flow(api_any, mine, GREET)
    their_flow = await create_flow(api_any, theirs, GREET)
    _, my_run = await trigger(api_any, mine, my_flow, version="test")
    _, their_run = await trigger(api_any, theirs, their_flow, version="test")
    await api_any.wait_for(my_run["uuid"], mine)
    await api_any.wait_for(their_run["uuid"], theirs)

    status, body = await api_any.request("GET", f"/v1/executions/{my_run['uuid']}", key=theirs)
    assert status == 404, body
    assert error_code(body) == "EXECUTION_NOT_FOUND"
    status, body = await trigger(api_any, theirs, my_flow, version="test")
    assert status == 404 and error_code(body) == "FLOW_NOT_FOUND"

    _, listed = await api_any.request("GET", "/v1/executions", key=mine)
    assert [e["uuid"] for e in listed["executions"]] == [my_run["uuid"]]
    _, listed = await api_any.request(
        "GET", "/v1/executions", key=theirs, params={"flow_id": my_flow}
    )
    assert listed["executions"] == []


async def test_an_unknown_execution_is_404(api: Any) -> None:
    _, key = await api.account()
    status, body = await api.request("GET", "/v1/executions/no-such-uuid", key=key)
    assert status == 404 and error_code(body) == "EXECUTION_NOT_FOUND"


async def test_the_list_pages_with_a_cursor_and_filters(api_any: Any) -> None:
    _, key = await api_any.account()
    greet = await create_flow(api_any, key, GREET)
    failing = await create_flow(api_any, key, FAILING)
    uuids = []
    for _ in range(7):
        _, body = await trigger(api_any, key, greet, version="test")
        uuids.append(body["uuid"])
    _, failed = await trigger(api_any, key, failing, version="test")
    for uuid in [*uuids, failed["uuid"]]:
        await api_any.wait_for(uuid, key)

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"flow_id": greet, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        status, page = await api_any.request("GET", "/v1/executions", key=key, params=params)
        assert status == 200, page
        pages += 1
        seen += [e["uuid"] for e in page["executions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(uuids) and len(seen) == 7

    _, only_failed = await api_any.request(
        "GET", "/v1/executions", key=key, params={"status": "FAILED"}
    )
    assert [e["uuid"] for e in only_failed["executions"]] == [failed["uuid"]]
    assert only_failed["executions"][0]["error_reason"] == "DIVISION_BY_ZERO"
    _, everything = await api_any.request("GET", "/v1/executions", key=key)
    assert len(everything["executions"]) == 8 and everything["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 501}, {"limit": "many"}, {"status": "SLEEPING"}],
)
async def test_bad_list_parameters_are_422(api: Any, params: dict[str, Any]) -> None:
    _, key = await api.account()
    status, body = await api.request("GET", "/v1/executions", key=key, params=params)
    assert status == 422, body
    assert error_code(body) == "VALIDATION_FAILED"


@pytest.mark.parametrize("cursor", ["garbage", "W10=", "WzEsMiwzXQ==", "eyJhIjoxfQ==", "!!!"])
@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_a_cursor_this_api_did_not_give_is_400(api_any: Any, cursor: str) -> None:
    _, key = await api_any.account()
    status, body = await api_any.request(
        "GET", "/v1/executions", key=key, params={"cursor": cursor}
    )
    assert status == 400, body
    assert error_code(body) == "INVALID_CURSOR"


@pytest.mark.parametrize(
    "name", ["flow.key.x x", "$call.cli.number", "$sys.datetime", "x", "$flow.key.", "$flow.x.y"]
)
async def test_invalid_variable_names_are_422(api: Any, name: str) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    status, body = await trigger(api, key, flow_id, version="test", variables={name: "v"})
    assert status == 422, body
    assert error_code(body) == "INVALID_VARIABLE_NAME"
    assert body["error"]["details"][0]["path"] == f"$.variables.{name}"


@pytest.mark.parametrize(
    "field", [{"dnis": "12"}, {"cli": "not-a-number"}, {"dnis": "+1 555"}, {"cli": "0000000000"}]
)
async def test_an_invalid_phone_number_is_422(api: Any, field: dict[str, str]) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    status, body = await trigger(api, key, flow_id, version="test", **field)
    assert status == 422, body
    assert error_code(body) == "INVALID_CONTACT_NUMBER"


@pytest.mark.parametrize(
    "body",
    [
        {"version": "staging"},
        {"version": "test", "variables": ["$flow.key.x"]},
        {"version": "test", "variables": "x=1"},
        {"version": "test", "cli": 9876543210},
        {"version": "test", "unknown": 1},
        {"version": "test", "dnis": "9" * 40},
    ],
)
@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_wrong_types_in_the_trigger_are_422(api: Any, body: dict[str, Any]) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    status, answer = await trigger(api, key, flow_id, **body)
    assert status == 422, answer
    assert error_code(answer) == "VALIDATION_FAILED"


async def test_a_malformed_trigger_body_is_400(api: Any) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    status, body = await api.request(
        "POST",
        f"/v1/flows/{flow_id}/executions",
        key=key,
        data=b'{"version": "test", "variables": {',
        headers={"Content-Type": "application/json"},
    )
    assert status == 400, body
    assert error_code(body) == "MALFORMED_JSON"


async def test_a_trigger_body_over_256_kb_is_413(api: Any) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    status, body = await trigger(
        api, key, flow_id, version="test", variables={"$flow.key.big": "x" * 300_000}
    )
    assert status == 413, body
    assert error_code(body) == "PAYLOAD_TOO_LARGE"


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_deeply_nested_variables_are_refused_with_422(api_any: Any) -> None:
    _, key = await api_any.account()
    flow_id = await create_flow(api_any, key, GREET)
    nested: Any = "deep"
    for _ in range(600):
        nested = [nested]
    status, body = await trigger(
        api_any, key, flow_id, version="test", variables={"$flow.key.deep": nested}
    )
    assert status == 422, body
    assert error_code(body) == "INVALID_VARIABLE_VALUE"
    assert body["error"]["details"][0]["path"].startswith("$.variables.$flow.key.deep[0][0]")


async def test_nested_variables_within_the_limit_run(api: Any) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    nested: Any = {"leaf": "x"}
    for _ in range(60):
        nested = {"n": nested}
    _, body = await trigger(api, key, flow_id, version="test", variables={"$flow.key.deep": nested})
    execution = await api.wait_for(body["uuid"], key)
    assert execution["status"] == "COMPLETED"
    assert execution["variables"]["$flow.key.deep"] == nested


async def test_text_with_a_nul_character_is_a_4xx_not_a_500(api_any: Any) -> None:
    _, key = await api_any.account()
    flow_id = await create_flow(api_any, key, GREET)
    # issue 12: a NUL is refused wherever text enters, with one code, on both engines
    for method, path in [
        ("GET", "/v1/executions/a%00b"),
        ("GET", "/v1/flows/a%00bcdef"),
        ("PUT", "/v1/flows/a%00bcdef"),
        ("DELETE", "/v1/flows/a%00bcdef"),
        ("POST", "/v1/flows/a%00bcdef/publish"),
        ("POST", "/v1/flows/a%00bcdef/executions"),
    ]:
        status, body = await api_any.request(method, path, key=key, json={"version": "test"})
        assert status == 422 and body["error"]["code"] == "NUL_NOT_ALLOWED", (path, body)
    status, body = await api_any.request(
        "PATCH", "/v1/operator/accounts/a%00b", key="operator-secret", json={"http_enabled": True}
    )
    assert status == 422 and body["error"]["code"] == "NUL_NOT_ALLOWED", body
    for params in [{"flow_id": "a\x00b"}, {"request_id": "a\x00b"}]:
        status, body = await api_any.request("GET", "/v1/executions", key=key, params=params)
        assert status == 422, body
    cursor = execution_repo.encode_cursor(1.0, "a\x00b")
    status, body = await api_any.request(
        "GET", "/v1/executions", key=key, params={"cursor": cursor}
    )
    assert status == 400, body
    # inside a JSON value too: PostgreSQL's text cannot hold it (issue 12)
    status, body = await api_any.request(
        "POST",
        f"/v1/flows/{flow_id}/executions",
        key=key,
        json={"version": "test", "variables": {"$flow.key.name": "a\x00b"}},
    )
    assert status == 422 and body["error"]["code"] == "NUL_NOT_ALLOWED", body


USER_WRITER: dict[str, Any] = {
    "name": "remember_language",
    "type": "outbound",
    "entry": {"start": "a"},
    "widgets": {
        "a": {
            "type": "store_variable",
            "assignments": [{"variable": "$user.key.language", "value": "$flow.key.language"}],
        }
    },
}

USER_READER: dict[str, Any] = {
    "name": "use_language",
    "type": "outbound",
    "entry": {"start": "a"},
    "widgets": {
        "a": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.seen", "value": "$user.key.language"}],
        }
    },
}


@pytest.mark.slow  # seconds of real servers: not in make test-fast
async def test_user_keys_are_carried_to_a_later_execution_of_another_flow(api_any: Any) -> None:
    _, key = await api_any.account()
    writer = await create_flow(api_any, key, USER_WRITER)
    reader = await create_flow(api_any, key, USER_READER)
    _, first = await trigger(
        api_any,
        key,
        writer,
        version="test",
        dnis="9876543210",
        variables={"$flow.key.language": "hi-IN"},
    )
    done = await api_any.wait_for(first["uuid"], key)
    assert done["contact"] == "919876543210"

    # the same contact written another way; and another contact that has no values
    _, second = await trigger(api_any, key, reader, version="test", dnis="+91 98765 43210")
    _, other = await trigger(api_any, key, reader, version="test", dnis="9876500000")
    seen = await api_any.wait_for(second["uuid"], key)
    assert seen["variables"]["$flow.key.seen"] == "hi-IN"
    assert seen["variables"]["$user.key.language"] == "hi-IN"
    unseen = await api_any.wait_for(other["uuid"], key)
    assert unseen["variables"]["$flow.key.seen"] == "$user.key.language"


async def test_user_keys_belong_to_one_account(api: Any) -> None:
    _, first_key = await api.account("first")
    _, second_key = await api.account("second")
    writer = await create_flow(api, first_key, USER_WRITER)
    reader = await create_flow(api, second_key, USER_READER)
    _, run = await trigger(
        api,
        first_key,
        writer,
        version="test",
        dnis="9876543210",
        variables={"$flow.key.language": "ta-IN"},
    )
    await api.wait_for(run["uuid"], first_key)
    _, run = await trigger(api, second_key, reader, version="test", dnis="9876543210")
    seen = await api.wait_for(run["uuid"], second_key)
    assert "$user.key.language" not in seen["variables"]


async def test_a_trigger_with_a_user_key_overrides_the_stored_value(api: Any) -> None:
    _, key = await api.account()
    writer = await create_flow(api, key, USER_WRITER)
    reader = await create_flow(api, key, USER_READER)
    _, run = await trigger(
        api,
        key,
        writer,
        version="test",
        dnis="9876543210",
        variables={"$flow.key.language": "hi-IN"},
    )
    await api.wait_for(run["uuid"], key)
    _, run = await trigger(
        api,
        key,
        reader,
        version="test",
        dnis="9876543210",
        variables={"$user.key.language": "en-GB"},
    )
    seen = await api.wait_for(run["uuid"], key)
    assert seen["variables"]["$flow.key.seen"] == "en-GB"


async def test_an_api_without_worker_leaves_executions_to_the_workers(
    sqlite_url: str, tmp_path: Path
) -> None:
    settings = support.settings_for(sqlite_url, tmp_path)
    async with support.running_api(settings, worker=False) as api:
        _, key = await api.account()
        flow_id = await create_flow(api, key, GREET)
        _, body = await trigger(api, key, flow_id, version="test")
        await asyncio.sleep(0.3)
        status, pending = await api.request("GET", f"/v1/executions/{body['uuid']}", key=key)
        assert status == 200 and pending["status"] == "PENDING", pending

        worker = Runtime.build(settings)
        await worker.start(worker=True)
        try:
            done = await api.wait_for(body["uuid"], key)
        finally:
            await worker.stop()
        assert done["status"] == "COMPLETED"


async def test_a_waiting_execution_resumes_after_its_delay(sqlite_url: str, tmp_path: Path) -> None:
    settings = support.settings_for(sqlite_url, tmp_path, time_scale=0.01)
    doc = {
        "name": "short_wait",
        "entry": {"start": "wait"},
        "widgets": {
            "wait": {"type": "delay", "seconds": 30, "next": "after"},
            "after": {
                "type": "store_variable",
                "assignments": [{"variable": "$flow.key.after", "value": True}],
            },
        },
    }
    async with support.running_api(settings) as api:
        _, key = await api.account()
        flow_id = await create_flow(api, key, doc)
        started = time.monotonic()
        _, body = await trigger(api, key, flow_id, version="test")
        waiting = await api.wait_for(body["uuid"], key, statuses=("WAITING", "COMPLETED"))
        done = await api.wait_for(body["uuid"], key)
        assert done["status"] == "COMPLETED" and done["variables"]["$flow.key.after"] is True
        assert time.monotonic() - started >= 0.25
        assert waiting["status"] == "WAITING" and waiting["wake_at"] is not None


async def test_an_endless_loop_fails_with_step_limit(api_with: Any) -> None:
    loop = {
        "name": "endless",
        "entry": {"start": "a"},
        "widgets": {
            "a": {
                "type": "operation",
                "operation": "add",
                "left": "$flow.key.n",
                "right": "1",
                "target": "$flow.key.n",
                "next": "a",
            }
        },
    }
    async with api_with(max_steps=40) as api:
        _, key = await api.account()
        flow_id = await create_flow(api, key, loop)
        _, body = await trigger(api, key, flow_id, version="test", variables={"$flow.key.n": 0})
        execution = await api.wait_for(body["uuid"], key)
    assert execution["status"] == "FAILED"
    assert execution["error_reason"] == "STEP_LIMIT"
    assert execution["step_count"] == 40
    assert execution["variables"]["$flow.key.n"] == 40


async def test_numbers_are_read_in_the_accounts_default_region(api: Any) -> None:
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    status, _ = await api.request(
        "PUT", "/v1/account/settings", key=key, json={"default_region": "US"}
    )
    assert status == 200
    _, body = await trigger(
        api, key, flow_id, version="test", cli="+919876543210", dnis="(650) 253-0000"
    )
    execution = await api.wait_for(body["uuid"], key)
    assert execution["variables"]["$call.cli.number"] == "919876543210"
    assert execution["variables"]["$call.dnis.number"] == "16502530000"
    assert execution["contact"] == "16502530000"
    status, body = await trigger(api, key, flow_id, version="test", dnis="98765 43210")
    assert status == 422, body  # a national Indian number is not a US number


async def test_an_inbound_flow_keeps_user_keys_for_the_caller(api: Any) -> None:
    _, key = await api.account()
    writer = await create_flow(api, key, {**USER_WRITER, "type": "inbound"})
    reader = await create_flow(api, key, {**USER_READER, "type": "inbound"})
    _, run = await trigger(
        api,
        key,
        writer,
        version="test",
        cli="9876543210",
        dnis="9876500000",
        variables={"$flow.key.language": "bn-IN"},
    )
    assert (await api.wait_for(run["uuid"], key))["contact"] == "919876543210"
    _, run = await trigger(api, key, reader, version="test", cli="+919876543210")
    seen = await api.wait_for(run["uuid"], key)
    assert seen["variables"]["$flow.key.seen"] == "bn-IN"


async def test_an_execution_stored_with_a_very_deep_value_is_still_readable(api: Any) -> None:
    """Values are bounded where they enter the state now; one stored before that (900
    levels deep) is shown with its too-deep part replaced, never a 500."""
    _, key = await api.account()
    flow_id = await create_flow(api, key, GREET)
    _, body = await trigger(api, key, flow_id, version="test", variables={"$flow.key.name": "A"})
    finished = await api.wait_for(body["uuid"], key)
    assert finished["status"] == "COMPLETED"
    state = await api.runtime.execution(body["uuid"])
    deep: Any = "bottom"
    for _ in range(900):
        deep = [deep]
    state.variables["flow.key.deep"] = deep
    saved = await api.runtime.store.write(
        lambda c: execution_repo.save(
            c, state, due_at=None, lease_owner=None, lease_until=None, now=time.time()
        )
    )
    assert saved
    status, shown = await api.request("GET", f"/v1/executions/{body['uuid']}", key=key)
    assert status == 200, shown
    value = shown["variables"]["$flow.key.deep"]
    for _ in range(64):
        value = value[0]
    assert value == "(nested deeper than 64 levels: not shown)"
    assert shown["variables"]["$flow.key.greeting"] == "hi A"
