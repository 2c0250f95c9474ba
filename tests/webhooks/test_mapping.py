"""Response mapping: bodies parsed into data and picked apart by paths rooted at ``data``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from flowhook.domain.message import OutgoingRequest
from flowhook.settings import Settings
from flowhook.webhooks.client import HttpClient
from flowhook.webhooks.mapping import (
    MapEntry,
    MappingError,
    apply_response_map,
    extract,
    parse_path,
    parse_response,
)

ORDER = {
    "score": 7,
    "ok": True,
    "customer": {"name": "Zoë", "tags": ["vip", "late"]},
    "items": [{"id": "a1", "qty": 2}, {"id": "b2", "qty": 0}],
    "grid": [[1, 2], [3, 4]],
    "key with space": "spaced",
    'quote"key': "quoted",
    "phonon-uuid": "u-1",
    "nothing": None,
}

XML_ORDER = b"""<?xml version="1.0" encoding="UTF-8"?>
<order id="17" status="open">
  <score>7</score>
  <customer><name>Zo\xc3\xab</name><vip/></customer>
  <item sku="a1">first</item>
  <item sku="b2">second</item>
  <note>  padded  </note>
  <soap:Body xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><r>1</r></soap:Body>
</order>"""


# paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data", ORDER),
        ("data.score", 7),
        ("data.ok", True),
        ("data.customer.name", "Zoë"),
        ("data.customer.tags[1]", "late"),
        ("data.items[0].id", "a1"),
        ("data.items[-1].qty", 0),
        ("data.items.1.id", "b2"),
        ("data.grid[1][0]", 3),
        ('data["key with space"]', "spaced"),
        ("data['key with space']", "spaced"),
        ('data["quote\\"key"]', "quoted"),
        ("data.phonon-uuid", "u-1"),
        ("data.nothing", None),
        (" data.score ", 7),
    ],
)
def test_paths_reach_nested_values(path: str, expected: Any) -> None:
    assert extract(ORDER, path) == expected


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("data.missing", "data has no 'missing'"),
        ("data.customer.age", "data.customer has no 'age'"),
        ("data.items[5].id", "data.items has 2 items, no [5]"),
        ("data.items.first", "data.items is a list"),
        ("data.score.value", "data.score is int, not an object or a list"),
        ("data.nothing.x", "data.nothing is null"),
    ],
)
def test_a_missing_path_raises_with_where_it_stopped(path: str, reason: str) -> None:
    with pytest.raises(MappingError) as caught:
        extract(ORDER, path)
    assert caught.value.path == path
    assert reason in caught.value.reason
    assert caught.value.code == "MAPPING_FAILED"


@pytest.mark.parametrize("path", ["score", "$.score", "x.score", "data..a", "data[", "data.a b"])
def test_malformed_paths_are_refused(path: str) -> None:
    with pytest.raises(MappingError):
        parse_path(path)


def test_paths_parse_into_steps() -> None:
    assert parse_path('data.a[2]["b c"].d') == ("a", 2, "b c", "d")


@given(st.text(min_size=1, max_size=20), st.integers() | st.text() | st.none())
def test_any_key_can_be_reached_with_a_quoted_path(key: str, value: Any) -> None:
    quoted = key.replace("\\", "\\\\").replace('"', '\\"')
    assert extract({key: value}, f'data["{quoted}"]') == value


# parsing ---------------------------------------------------------------------------------


def test_json_is_parsed_by_content_type() -> None:
    body = json.dumps(ORDER).encode()
    assert parse_response(body, "application/json; charset=utf-8") == ORDER
    assert parse_response(body, "application/problem+json") == ORDER


def test_xml_becomes_nested_dicts_rooted_at_data() -> None:
    data = parse_response(XML_ORDER, "application/xml")
    assert data["@id"] == "17"
    assert data["score"] == "7"
    assert data["customer"] == {"name": "Zoë", "vip": None}
    assert data["item"] == [{"@sku": "a1", "#text": "first"}, {"@sku": "b2", "#text": "second"}]
    assert data["note"] == "padded"
    assert data["soap:Body"]["r"] == "1"
    assert extract(data, "data.item[1]['@sku']") == "b2"
    assert extract(data, 'data["soap:Body"].r') == "1"


def test_repeated_elements_become_lists_and_single_ones_do_not() -> None:
    data = parse_response(b"<r><a>1</a><b>x</b><a>2</a><a>3</a></r>", "text/xml")
    assert data == {"a": ["1", "2", "3"], "b": "x"}


def test_an_undeclared_type_is_tried_as_json_then_xml() -> None:
    assert parse_response(b'{"a": [1]}', "text/plain") == {"a": [1]}
    assert parse_response(b"<r><a>1</a></r>", "") == {"a": "1"}


def test_an_empty_body_is_none() -> None:
    assert parse_response(b"", "application/json") is None
    assert parse_response(b"  \n", "") is None


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json", "application/json"),
        (b"<r><a></r>", "application/xml"),
        (b"hello there", "text/plain"),
    ],
)
def test_unparseable_bodies_raise_mapping_error(body: bytes, content_type: str) -> None:
    with pytest.raises(MappingError):
        parse_response(body, content_type)


def test_xml_with_a_dtd_is_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"""
    with pytest.raises(MappingError) as caught:
        parse_response(bomb, "application/xml")
    assert "DTD" in caught.value.reason


def test_a_json_body_with_a_utf8_bom_is_read() -> None:
    assert parse_response(b'\xef\xbb\xbf{"a": 1}', "application/json") == {"a": 1}


@pytest.mark.parametrize(
    ("body", "too_deep"),
    [
        (b"[" * 4 + b"]" * 4, False),  # exactly the limit: no walk needed, mapped
        (b"[" * 5 + b"]" * 5, True),
        (b'{"a":[{"b":[{"c":1}]}]}', True),  # lists and objects count alike
        (b'{"a":"[[[[{{{{", "b":[1]}', False),  # brackets in strings: walked, shallow
        (b"[[1],[2],[3],[4],[5],[6]]", False),  # many brackets, two levels
    ],
)
def test_a_json_response_is_refused_only_when_it_nests_deeper_than_the_limit(
    body: bytes, too_deep: bool
) -> None:
    if too_deep:
        with pytest.raises(MappingError) as caught:
            parse_response(body, "application/json", max_depth=4)
        assert caught.value.reason == "the response nests more than 4 levels deep"
    else:
        assert parse_response(body, "application/json", max_depth=4) == json.loads(body)


# response maps ---------------------------------------------------------------------------


def test_a_response_map_fills_variables_and_reports_missing_paths() -> None:
    mapping: dict[str, str | MapEntry] = {
        "flow.key.score": "data.score",
        "flow.key.first": "data.items[0].id",
        "flow.key.gone": "data.gone",
        "flow.key.maybe": {"path": "data.maybe", "optional": True},
        "flow.key.name": {"path": "data.customer.name"},
    }
    values, missing = apply_response_map(ORDER, mapping)
    assert values == {"flow.key.score": 7, "flow.key.first": "a1", "flow.key.name": "Zoë"}
    assert missing == ["data.gone"]


def test_a_malformed_path_in_a_map_counts_as_missing() -> None:
    _, missing = apply_response_map(ORDER, {"flow.key.x": "score"})
    assert missing == ["score"]


# end to end ------------------------------------------------------------------------------


@pytest.fixture
async def api() -> AsyncIterator[str]:
    async def as_json(request: web.Request) -> web.Response:
        return web.json_response(ORDER)

    async def as_xml(request: web.Request) -> web.Response:
        return web.Response(body=XML_ORDER, content_type="application/xml")

    app = web.Application()
    app.router.add_get("/json", as_json)
    app.router.add_get("/xml", as_xml)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.mark.parametrize(
    ("path", "mapping", "expected"),
    [
        ("/json", {"flow.key.qty": "data.items[0].qty"}, {"flow.key.qty": 2}),
        ("/xml", {"flow.key.sku": "data.item[1]['@sku']"}, {"flow.key.sku": "b2"}),
    ],
)
async def test_a_real_response_is_mapped_into_variables(
    api: str, path: str, mapping: dict[str, str | MapEntry], expected: dict[str, Any]
) -> None:
    http = HttpClient(Settings(allow_private_targets=True))
    try:
        result = await http.send(OutgoingRequest("GET", api + path), http_enabled=True)
    finally:
        await http.close()
    parsed = parse_response(result.body, result.headers.get("Content-Type", ""))
    assert apply_response_map(parsed, mapping) == (expected, [])
