"""The decision widget: operators, numeric-vs-text comparison, branches and the default."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from flowhook.engine.widget import Exit
from flowhook.errors import WidgetError
from flowhook.widgets.decision import Decision, DecisionConfig, holds


def config(*branches, **extra):
    return DecisionConfig.model_validate({"type": "decision", "branches": list(branches), **extra})


def branch(exit_, *conditions, match="all"):
    return {"exit": exit_, "match": match, "conditions": list(conditions)}


def cond(left, op, right=None):
    condition = {"left": left, "op": op}
    if right is not None:
        condition["right"] = right
    return condition


@pytest.fixture
def decide(make_ctx):
    async def decide(variables, *branches):
        ctx = make_ctx(variables)
        return await Decision("w1", config(*branches)).run(ctx)

    return decide


# operators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "op", "right", "expected"),
    [
        ("5", "==", "5.0", True),
        ("5", "==", 5, True),
        ("abc", "==", "abc", True),
        ("abc", "==", "ABC", False),
        ("5", "!=", "5.00", False),
        ("a", "!=", "b", True),
        ("9", "<", "10", True),  # numbers: 9 < 10
        ("9a", "<", "10", False),  # text: "9a" > "10"
        ("-1.5", "<", "-1", True),
        ("b", ">", "a", True),
        ("10", ">", "9", True),
        ("10", "<=", "10.0", True),
        ("apple", "<=", "apples", True),
        ("2", ">=", "3", False),
        (" 7 ", ">=", "7", True),  # surrounding spaces do not stop a number
        (True, "==", "true", True),
    ],
)
def test_ordering_operators_compare_numbers_numerically_else_text(left, op, right, expected):
    assert holds(op, left, right) is expected


@pytest.mark.parametrize(
    ("left", "op", "right", "expected"),
    [
        ("hello world", "contains", "lo w", True),
        ("hello", "contains", "Hello", False),
        (12345, "contains", 234, True),
        (["gold", "silver"], "contains", "gold", True),
        (["gold", "silver"], "contains", "old", False),
        ("+919800000000", "starts_with", "+91", True),
        ("919800000000", "starts_with", "+91", False),
        ("order-1234", "regex", r"\d{4}$", True),
        ("order-12a4", "regex", r"\d{4}$", False),
        ("ABC", "regex", "(?i)abc", True),
    ],
)
def test_text_operators(left, op, right, expected):
    assert holds(op, left, right) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True),
        ("", True),
        ("   ", True),
        ([], True),
        ({}, True),
        ("x", False),
        (0, False),
        ([0], False),
        (False, False),
    ],
)
def test_is_empty(value, expected):
    assert holds("is_empty", value) is expected


def test_an_invalid_regex_from_a_variable_fails_with_code():
    with pytest.raises(WidgetError) as caught:
        holds("regex", "abc", "([a-z")
    assert caught.value.code == "INVALID_REGEX"


OPERATORS = ("==", "!=", "<", ">", "<=", ">=")
PYTHON = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


@given(st.integers(-(10**40), 10**40), st.integers(-(10**40), 10**40), st.sampled_from(OPERATORS))
def test_integer_comparisons_agree_with_python(a, b, op):
    assert holds(op, str(a), str(b)) == PYTHON[op](a, b)


@given(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(OPERATORS),
)
def test_float_comparisons_agree_with_python(a, b, op):
    # a float's text (repr) is the shortest that reads back as it, so order is kept
    assert holds(op, repr(a), repr(b)) == PYTHON[op](a, b)
    assert holds(op, a, b) == PYTHON[op](a, b)


@given(
    st.text(alphabet=st.characters(blacklist_characters="0123456789")),
    st.text(alphabet=st.characters(blacklist_characters="0123456789")),
)
def test_text_comparisons_agree_with_python(a, b):
    assert holds("<", a, b) == (a < b)
    assert holds("==", a, b) == (a == b)


# the widget ------------------------------------------------------------------------------


async def test_the_first_matching_branch_wins(decide):
    outcome = await decide(
        {"flow.key.score": 95},
        branch("gold", cond("$flow.key.score", ">=", "90")),
        branch("silver", cond("$flow.key.score", ">=", "50")),
    )
    assert outcome == Exit("gold")


async def test_later_branches_are_tried_in_order(decide):
    outcome = await decide(
        {"flow.key.score": 60},
        branch("gold", cond("$flow.key.score", ">=", "90")),
        branch("silver", cond("$flow.key.score", ">=", "50")),
    )
    assert outcome == Exit("silver")


async def test_no_matching_branch_leaves_by_default(decide):
    outcome = await decide({"flow.key.score": 10}, branch("gold", cond("$flow.key.score", ">", 50)))
    assert outcome == Exit("default")


async def test_match_all_needs_every_condition(decide):
    both = branch("vip", cond("$flow.key.tier", "==", "gold"), cond("$flow.key.age", ">", 60))
    assert await decide({"flow.key.tier": "gold", "flow.key.age": 70}, both) == Exit("vip")
    assert await decide({"flow.key.tier": "gold", "flow.key.age": 30}, both) == Exit("default")


async def test_match_any_needs_one_condition(decide):
    either = branch(
        "vip", cond("$flow.key.tier", "==", "gold"), cond("$flow.key.age", ">", 60), match="any"
    )
    assert await decide({"flow.key.tier": "silver", "flow.key.age": 70}, either) == Exit("vip")
    assert await decide({"flow.key.tier": "silver", "flow.key.age": 30}, either) == Exit("default")


async def test_both_sides_are_rendered(decide):
    outcome = await decide(
        {"flow.key.a": "10", "flow.key.b": 9.5},
        branch("bigger", cond("$flow.key.a", ">", "$flow.key.b")),
    )
    assert outcome == Exit("bigger")


async def test_an_unset_variable_reads_as_empty_and_warns(make_ctx):
    ctx = make_ctx()
    outcome = await Decision(
        "w1", config(branch("missing", cond("$flow.key.phone", "is_empty")))
    ).run(ctx)
    assert outcome == Exit("missing")
    assert ctx.warnings == ["unknown variable $flow.key.phone left as written"]


async def test_a_regex_from_a_variable_is_checked_when_the_widget_runs(decide):
    with pytest.raises(WidgetError) as caught:
        await decide(
            {"flow.key.pattern": "(unclosed"},
            branch("x", cond("abc", "regex", "$flow.key.pattern")),
        )
    assert caught.value.code == "INVALID_REGEX"


def test_exit_names_are_the_branch_exits_and_default():
    decision = config(
        branch("gold", cond("1", "==", "1")),
        branch("silver", cond("1", "==", "1")),
        exits={"gold": "w5", "silver": "w6", "default": "w7"},
    )
    assert Decision.exit_names(decision) == {"gold", "silver", "default"}


# configuration ---------------------------------------------------------------------------


def test_an_invalid_literal_regex_is_rejected_at_save_time():
    with pytest.raises(ValidationError) as caught:
        config(branch("x", cond("$flow.key.a", "regex", "([a-z")))
    error = caught.value.errors()[0]
    assert error["loc"] == ("branches", 0, "conditions", 0, "right")
    assert "invalid regular expression" in error["msg"]


def test_a_regex_ending_in_a_dollar_is_not_mistaken_for_a_reference():
    config(branch("x", cond("$flow.key.a", "regex", "^[0-9]+$")))


def test_right_is_required_except_for_is_empty():
    with pytest.raises(ValidationError) as caught:
        config(branch("x", cond("$flow.key.a", "==")))
    error = caught.value.errors()[0]
    assert error["loc"] == ("branches", 0, "conditions", 0, "right")
    assert error["msg"] == "required by operator '=='"
    config(branch("x", cond("$flow.key.a", "is_empty")))


def test_an_unknown_operator_is_rejected():
    with pytest.raises(ValidationError) as caught:
        config(branch("x", cond("a", "~=", "b")))
    assert caught.value.errors()[0]["loc"] == ("branches", 0, "conditions", 0, "op")


@pytest.mark.parametrize(
    ("decision", "loc"),
    [
        ({"branches": []}, ("branches",)),
        ({"branches": [{"exit": "x", "conditions": []}]}, ("branches", 0, "conditions")),
        (
            {"branches": [{"exit": "", "conditions": [cond("a", "is_empty")]}]},
            ("branches", 0, "exit"),
        ),
        (
            {"branches": [{"exit": "x", "match": "most", "conditions": [cond("a", "is_empty")]}]},
            ("branches", 0, "match"),
        ),
    ],
)
def test_malformed_branches_are_rejected(decision, loc):
    with pytest.raises(ValidationError) as caught:
        DecisionConfig.model_validate({"type": "decision", **decision})
    assert caught.value.errors()[0]["loc"] == loc
