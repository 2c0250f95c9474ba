"""The flow rules, called as the API, the console and the CLI call them: straight on a
Runtime, on SQLite and PostgreSQL, without HTTP."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from flowhook.domain.account import Account
from flowhook.errors import Conflict, FlowhookError, FlowTooLarge, NotFound, ValidationFailed
from flowhook.runtime import Runtime
from flowhook.usecases import executions, flows, webhooks
from flowhook.usecases.executions import Trigger
from flowhook.usecases.flows import FlowSource
from flowhook.usecases.webhooks import WebhookIn

MakeAccount = Callable[..., Awaitable[Account]]

FLOW: dict[str, Any] = {
    "name": "greet",
    "entry": {"start": "a"},
    "widgets": {
        "a": {
            "type": "store_variable",
            "assignments": [{"variable": "$flow.key.greeting", "value": "hi"}],
            "next": "b",
        },
        "b": {"type": "end"},
    },
}


def source(doc: dict[str, Any] | None = None) -> FlowSource:
    return FlowSource(json.dumps(doc or FLOW).encode())


def hook_flow(ref: str, **request: Any) -> dict[str, Any]:
    call: dict[str, Any] = {"type": "webhook", "webhook": ref, "exits": {"0": "done"}}
    if request:
        call["request"] = request
    return {
        "name": "report",
        "entry": {"start": "call"},
        "widgets": {"call": call, "done": {"type": "end"}},
    }


def code_of(raised: pytest.ExceptionInfo[FlowhookError]) -> str:
    return raised.value.code


async def test_create_reads_json_and_yaml_and_a_name_is_taken_once(
    rt: Runtime, account: Account, make_account: MakeAccount
) -> None:
    saved = await flows.create(rt, account, source())
    assert (saved.record.name, saved.record.prod_doc, saved.warnings) == ("greet", None, [])

    yaml = b"name: second\nentry: {start: e}\nwidgets:\n  e: {type: end}\n"
    second = await flows.create(rt, account, FlowSource(yaml, "application/yaml; charset=utf-8"))
    assert second.record.test_doc["widgets"] == {"e": {"type": "end"}}

    with pytest.raises(Conflict) as raised:
        await flows.create(rt, account, source())
    assert code_of(raised) == "FLOW_NAME_TAKEN"
    with pytest.raises(Conflict) as raised:
        await flows.replace(rt, account, second.record.flow_id, source())
    assert code_of(raised) == "FLOW_NAME_TAKEN"
    # another account has its own names
    other = await make_account("other")
    assert (await flows.create(rt, other, source())).record.name == "greet"
    assert [r.name for r in await flows.list_all(rt, account)] == ["greet", "second"]


async def test_validate_bounds_the_document(rt: Runtime, account: Account) -> None:
    with pytest.raises(ValidationFailed) as raised:
        await flows.validate(rt, account, FlowSource(b"  "))
    assert code_of(raised) == "INVALID_FLOW"
    big = copy.deepcopy(FLOW)
    big["description"] = "x" * (rt.settings.flow_max_bytes + 1)
    with pytest.raises(FlowTooLarge):
        await flows.validate(rt, account, source(big))
    assert await flows.list_all(rt, account) == []


async def test_publish_is_refused_while_a_saved_webhook_is_missing(
    rt: Runtime, account: Account
) -> None:
    saved = await flows.create(rt, account, source(hook_flow("crm_events")))
    assert [w["code"] for w in saved.warnings] == ["WEBHOOK_NOT_FOUND"]
    checked = await flows.validate(rt, account, source(hook_flow("crm_events")))
    assert [w["widget"] for w in checked.warnings] == ["call"]

    with pytest.raises(Conflict) as raised:
        await flows.publish(rt, account, saved.record.flow_id)
    assert code_of(raised) == "WEBHOOK_NOT_FOUND"
    assert (await flows.get(rt, account, saved.record.flow_id)).prod_doc is None

    await webhooks.create(rt, account, WebhookIn(name="crm_events", url="http://127.0.0.1:9/h"))
    published = await flows.publish(rt, account, saved.record.flow_id)
    assert published.prod_doc == published.test_doc


async def test_another_accounts_flow_is_not_found(
    rt: Runtime, account: Account, make_account: MakeAccount
) -> None:
    flow_id = (await flows.create(rt, account, source())).record.flow_id
    other = await make_account("other")
    for act in (
        flows.get(rt, other, flow_id),
        flows.replace(rt, other, flow_id, source()),
        flows.publish(rt, other, flow_id),
        flows.delete(rt, other, flow_id),
        flows.diff(rt, other, flow_id),
    ):
        with pytest.raises(NotFound) as raised:
            await act
        assert code_of(raised) == "FLOW_NOT_FOUND"
    with pytest.raises(NotFound):
        await executions.start(rt, other, flow_id, Trigger(version="test"))
    assert (await flows.get(rt, account, flow_id)).name == "greet"


async def test_a_flow_with_unfinished_executions_is_in_use(rt: Runtime, account: Account) -> None:
    rt.runner.local = False  # stored, not run: the execution stays unfinished
    flow_id = (await flows.create(rt, account, source())).record.flow_id
    await executions.start(rt, account, flow_id, Trigger(version="test"))

    with pytest.raises(Conflict) as raised:
        await flows.delete(rt, account, flow_id)
    assert code_of(raised) == "FLOW_IN_USE"
    assert raised.value.details == {"unfinished_executions": 1}
    assert (await flows.get(rt, account, flow_id)).flow_id == flow_id


async def test_delete_forgets_the_flow(rt: Runtime, account: Account) -> None:
    flow_id = (await flows.create(rt, account, source())).record.flow_id
    await flows.publish(rt, account, flow_id)
    await rt.catalog.flow_record(flow_id, "prod")  # cached by the trigger

    await flows.delete(rt, account, flow_id)
    with pytest.raises(NotFound):
        await flows.get(rt, account, flow_id)
    with pytest.raises(NotFound):
        await executions.start(rt, account, flow_id, Trigger())


async def test_diff_names_what_publishing_would_change(rt: Runtime, account: Account) -> None:
    flow_id = (await flows.create(rt, account, source())).record.flow_id
    unpublished = await flows.diff(rt, account, flow_id)
    assert not unpublished.published and not unpublished.same
    assert unpublished.widgets.added == ["a", "b"]
    assert unpublished.fields["name"].model_dump() == {"test": "greet", "prod": None}

    await flows.publish(rt, account, flow_id)
    same = await flows.diff(rt, account, flow_id)
    assert same.published and same.same
    assert (same.fields, same.widgets.model_dump()) == (
        {},
        {"added": [], "removed": [], "changed": []},
    )

    edited = copy.deepcopy(FLOW)
    edited["description"] = "says hello"
    edited["entry"] = {"start": "c"}
    del edited["widgets"]["b"]
    edited["widgets"]["a"]["next"] = "c"
    edited["widgets"]["c"] = {"type": "end"}
    await flows.replace(rt, account, flow_id, source(edited))
    changed = await flows.diff(rt, account, flow_id)
    assert not changed.same
    assert changed.widgets.model_dump() == {"added": ["c"], "removed": ["b"], "changed": ["a"]}
    assert {k: v.model_dump() for k, v in changed.fields.items()} == {
        "description": {"test": "says hello", "prod": None},
        "entry": {"test": {"start": "c"}, "prod": {"start": "a"}},
    }


async def test_diff_sees_a_changed_secret_without_showing_it(rt: Runtime, account: Account) -> None:
    doc = hook_flow("custom", url="http://127.0.0.1:9/h", headers={"X-Api-Key": "one"})
    flow_id = (await flows.create(rt, account, source(doc))).record.flow_id
    await flows.publish(rt, account, flow_id)
    assert (await flows.diff(rt, account, flow_id)).same

    doc["widgets"]["call"]["request"]["headers"]["X-Api-Key"] = "two"
    await flows.replace(rt, account, flow_id, source(doc))
    found = await flows.diff(rt, account, flow_id)
    assert (found.same, found.widgets.changed, found.fields) == (False, ["call"], {})
    assert "two" not in found.model_dump_json() and "one" not in found.model_dump_json()
