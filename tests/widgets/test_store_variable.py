import pytest
from pydantic import ValidationError

from flowhook.engine.widget import Exit
from flowhook.errors import WidgetError
from flowhook.widgets.store_variable import Assignment, StoreVariable, StoreVariableConfig


async def test_store_variable_writes_each_assignment_and_leaves_by_next(ctx, run_widget):
    outcome = await run_widget(
        StoreVariable,
        {
            "assignments": [
                {"variable": "$flow.key.name", "value": "Asha"},
                {"variable": "$flow.syskey.apiVersion", "value": "v2"},
                {"variable": "$user.key.lang", "value": "hi"},
                {"variable": "$user.syskey.contactNumber", "value": "+919800000000"},
            ]
        },
        ctx,
    )
    assert outcome == Exit("next")
    assert ctx.state.variables == {
        "flow.key.name": "Asha",
        "flow.syskey.apiVersion": "v2",
        "user.key.lang": "hi",
        "user.syskey.contactNumber": "+919800000000",
    }
    assert ctx.changed["$flow.key.name"] == "Asha"


async def test_store_variable_keeps_json_types(ctx, run_widget):
    await run_widget(
        StoreVariable,
        {
            "assignments": [
                {"variable": "$flow.key.count", "value": 3},
                {"variable": "$flow.key.ratio", "value": 0.5},
                {"variable": "$flow.key.ok", "value": True},
                {"variable": "$flow.key.none", "value": None},
                {"variable": "$flow.key.items", "value": [1, "two", {"three": 3}]},
            ]
        },
        ctx,
    )
    assert ctx.get("$flow.key.count") == 3
    assert ctx.get("$flow.key.ratio") == 0.5
    assert ctx.get("$flow.key.ok") is True
    assert ctx.get("$flow.key.none") is None
    assert ctx.get("$flow.key.items") == [1, "two", {"three": 3}]


async def test_a_value_that_is_exactly_one_reference_keeps_the_variables_type(make_ctx, run_widget):
    ctx = make_ctx({"flow.key.score": 42, "flow.key.tags": ["a", "b"]})
    await run_widget(
        StoreVariable,
        {
            "assignments": [
                {"variable": "$flow.key.copy", "value": "$flow.key.score"},
                {"variable": "$flow.key.braced", "value": "${flow.key.tags}"},
                {"variable": "$flow.key.text", "value": "score: $flow.key.score"},
            ]
        },
        ctx,
    )
    assert ctx.get("$flow.key.copy") == 42
    assert ctx.get("$flow.key.braced") == ["a", "b"]
    assert ctx.get("$flow.key.text") == "score: 42"


async def test_strings_inside_objects_and_lists_are_rendered(make_ctx, run_widget):
    ctx = make_ctx({"flow.key.name": "Asha", "flow.key.age": 31})
    await run_widget(
        StoreVariable,
        {
            "assignments": [
                {
                    "variable": "$flow.key.person",
                    "value": {"name": "$flow.key.name", "age": "$flow.key.age", "tags": ["x"]},
                }
            ]
        },
        ctx,
    )
    assert ctx.get("$flow.key.person") == {"name": "Asha", "age": 31, "tags": ["x"]}


async def test_later_assignments_read_earlier_ones(ctx, run_widget):
    await run_widget(
        StoreVariable,
        {
            "assignments": [
                {"variable": "$flow.key.first", "value": "Asha"},
                {"variable": "$flow.key.greeting", "value": "Hello $flow.key.first"},
            ]
        },
        ctx,
    )
    assert ctx.get("$flow.key.greeting") == "Hello Asha"


async def test_an_unknown_reference_stays_literal_and_warns(ctx, run_widget):
    await run_widget(
        StoreVariable,
        {"assignments": [{"variable": "$flow.key.x", "value": "hi $flow.key.nobody"}]},
        ctx,
    )
    assert ctx.get("$flow.key.x") == "hi $flow.key.nobody"
    assert ctx.warnings == ["unknown variable $flow.key.nobody left as written"]


@pytest.mark.parametrize(
    "variable",
    ["$call.cli.number", "$sys.datetime", "flow.key.x", "$flow.other.x", "$flow.key.", "$x"],
)
def test_store_variable_refuses_names_it_may_not_write(variable):
    with pytest.raises(ValidationError) as caught:
        StoreVariableConfig.model_validate(
            {"type": "store_variable", "assignments": [{"variable": variable, "value": 1}]}
        )
    error = caught.value.errors()[0]
    assert error["loc"] == ("assignments", 0, "variable")
    assert "may write" in error["msg"]


async def test_context_refuses_call_variables_even_past_validation(ctx):
    # The config validator is the first line of defence; the context is the last.
    config = StoreVariableConfig.model_construct(
        type="store_variable",
        assignments=[Assignment.model_construct(variable="$call.cli.number", value="1")],
    )
    with pytest.raises(WidgetError) as caught:
        await StoreVariable("w1", config).run(ctx)
    assert caught.value.code == "READ_ONLY_VARIABLE"
    assert "call.cli.number" not in ctx.state.variables


def test_store_variable_needs_at_least_one_assignment():
    with pytest.raises(ValidationError) as caught:
        StoreVariableConfig.model_validate({"type": "store_variable", "assignments": []})
    assert caught.value.errors()[0]["loc"] == ("assignments",)


def test_store_variable_rejects_unknown_fields():
    with pytest.raises(ValidationError) as caught:
        StoreVariableConfig.model_validate(
            {"type": "store_variable", "assignments": [{"variable": "$flow.key.x", "val": 1}]}
        )
    assert caught.value.errors()[0]["loc"] == ("assignments", 0, "val")
