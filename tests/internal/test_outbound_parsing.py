"""Properties of the OBD body checks: whatever a caller sends, the answer is one of the
original's body codes and never a server failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from internal_factories import make_flow, obd_body

from flowhook.internal.outbound import (
    Call,
    InvalidCall,
    Rejected,
    ResponseCode,
    check_call,
    parse_body,
    parse_envelope,
)

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC).timestamp()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
numbers = st.one_of(
    st.text(alphabet="0123456789 +-()", max_size=16),
    st.text(max_size=16),
    st.integers(),
    json_values,
)
calls = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "client-identifier": st.one_of(st.text(max_size=120), json_values),
            "contact-numbers": st.one_of(st.lists(numbers, max_size=12), json_values),
            "start-time": st.one_of(
                st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
                st.text(max_size=30),
                json_values,
            ),
            "keys": st.one_of(
                st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "name": st.one_of(
                                st.from_regex(r"\$(flow|user|call)\.(key|syskey)\.\w{1,5}"),
                                st.text(max_size=10),
                            ),
                            "value": json_values,
                        },
                    ),
                    max_size=4,
                ),
                json_values,
            ),
        },
    ),
)


def bodies(security_id: str = "s" * 64, flow_id: str = "AbCd1234") -> st.SearchStrategy[Any]:
    """Bodies near a valid one: each field valid, missing or replaced by any JSON."""
    return st.one_of(
        json_values,
        st.fixed_dictionaries(
            {},
            optional={
                "api-version": st.one_of(st.sampled_from(["1.0", "TEST", "test"]), json_values),
                "security-id": st.one_of(st.just(security_id), json_values),
                "flow-id": st.one_of(st.just(flow_id), json_values),
                "calls": st.one_of(st.lists(calls, max_size=5), json_values),
            },
        ),
    )


@given(st.binary(max_size=300))
def test_any_bytes_are_read_or_refused_with_a_body_code(raw: bytes) -> None:
    try:
        parse_body(raw)
    except Rejected as exc:
        assert exc.response_code != ResponseCode.FAILURE


@pytest.mark.slow
@given(bodies(), st.sampled_from(["IN", "US", "GB"]))
def test_any_body_is_checked_without_crashing(body: Any, region: str) -> None:
    try:
        envelope = parse_envelope(body)
    except Rejected as exc:
        assert exc.response_code != ResponseCode.FAILURE
        return
    for index, raw in enumerate(envelope.calls):
        checked = check_call(raw, index, region, NOW)
        assert isinstance(checked, Call | InvalidCall)
        if isinstance(checked, Call):
            assert checked.numbers and all(n.isdigit() for n in checked.numbers)
            assert all(name.startswith(("flow.key.", "user.key.")) for name in checked.variables)
        else:
            assert checked.code != ResponseCode.FAILURE


def test_lone_surrogates_are_invalid_format() -> None:
    with pytest.raises(Rejected) as caught:
        parse_body(b'{"api-version": "1.0", "x": "\\ud800"}')
    assert caught.value.response_code == ResponseCode.INVALID_FORMAT


def test_deeply_nested_json_is_invalid_format() -> None:
    with pytest.raises(Rejected) as caught:
        parse_body(b"[" * 100_000 + b"]" * 100_000)
    assert caught.value.response_code == ResponseCode.INVALID_FORMAT


@pytest.fixture
async def target(api: Any) -> tuple[Any, dict[str, Any]]:
    _, key = await api.account()
    return api, await make_flow(api, key)


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_random_malformed_bodies_never_give_a_500(
    target: tuple[Any, dict[str, Any]], data: st.DataObject
) -> None:
    api, flow = target
    body = data.draw(bodies(flow["security_id"], flow["flow_id"]))
    raw = json.dumps(body).encode()
    status, answer = await api.request(
        "POST", "/kairos-apis/outbound/create", data=raw, headers={"Content-Type": "text/plain"}
    )
    assert status == 200, answer
    assert answer["api-response-code"] != 500, answer


async def test_a_valid_body_from_the_same_strategy_space_succeeds(
    target: tuple[Any, dict[str, Any]],
) -> None:
    api, flow = target
    status, answer = await api.request("POST", "/kairos-apis/outbound/create", json=obd_body(flow))
    assert (status, answer["api-response-code"]) == (200, 200)
