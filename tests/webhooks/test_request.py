"""build_request: a RequestSpec and the run's variables become the bytes a receiver gets.

Pure tests first, then round trips through HttpClient to a real local receiver that parses
each body type the way a real endpoint would.
"""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import BasicAuth as AiohttpBasicAuth
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from flowhook.domain.request_spec import BasicAuth, NoAuth, RequestSpec
from flowhook.engine.templating import lookup_in
from flowhook.settings import Settings
from flowhook.webhooks.client import HttpClient
from flowhook.webhooks.request import build_request

ODD_VALUES = [
    'say "hi"',
    "back\\slash",
    "ünïcødé ✓ 🎉 日本",
    "<tag> & </tag>",
    "line1\nline2",
    "it's 100% + more = ?&#",
    "  spaced  ",
    "",
]

TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
"""Any text that can be encoded as UTF-8 (lone surrogates cannot)."""

XML_TEXT = st.text(
    st.characters(
        codec="utf-8",
        exclude_characters="".join(map(chr, [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]))
        + "\ufffe\uffff",
    ),
    max_size=40,
)
"""Text XML 1.0 can carry (it forbids most control characters)."""


def spec(**fields: Any) -> RequestSpec:
    fields.setdefault("url", "https://api.example.com/hook")
    return RequestSpec.model_validate(fields)


def build(spec_: RequestSpec, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
    return build_request(spec_, lookup_in(variables or {}), **kw)


# the spec (config.py) ----------------------------------------------------------------------


def test_a_spec_has_sensible_defaults() -> None:
    s = RequestSpec(url="https://x.example/h")
    assert (s.method, s.body_type, s.body, s.timeout_s) == ("POST", "NONE", None, 10.0)
    assert isinstance(s.auth, NoAuth)


def test_auth_is_chosen_by_its_type() -> None:
    s = spec(auth={"type": "basic", "username": "u", "password": "s3cret-pw"}, method="get")
    assert isinstance(s.auth, BasicAuth)
    assert s.method == "GET"
    assert "s3cret-pw" not in repr(s)  # the password stays out of logs


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": " "}, "url must not be empty"),
        ({"url": "ftp://x.example/"}, "http:// or https://"),
        ({"body_type": "NONE", "body": {"a": 1}}, "not allowed when body_type is NONE"),
        ({"body_type": "JSON"}, "JSON needs a body"),
        ({"body_type": "JSON", "body": 5}, "object, an array or a template string"),
        ({"body_type": "XML", "body": {"a": "b"}}, "XML body must be a string"),
        ({"body_type": "FORM_DATA", "body": "a=b"}, "object of field names to strings"),
        ({"body_type": "URL_ENCODED", "body": {"n": 1}}, "field 'n' is int"),
        ({"headers": {"Bad Header": "x"}}, "not a valid header name"),
        ({"headers": {"X-A": "1\r\nX-B: 2"}}, "cannot contain line breaks"),
        ({"headers": {"X-A": "1", "x-a": "2"}}, "given twice"),
        ({"timeout_s": 0.5}, "greater than or equal to 1"),
        ({"timeout_s": 61}, "less than or equal to 60"),
        ({"method": "TRACE"}, "Input should be"),
        ({"auth": {"type": "basic", "username": "a:b"}}, "cannot contain ':'"),
        ({"auth": {"type": "oauth"}}, "does not match any of the expected tags"),
        (
            {"auth": {"type": "basic", "username": "u"}, "headers": {"authorization": "x"}},
            "conflicts with basic auth",
        ),
        ({"extra": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_specs_are_refused_with_a_clear_message(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        spec(**fields)
    assert message in str(caught.value)


def test_a_url_made_of_variables_is_accepted_as_written() -> None:
    assert spec(url="$flow.key.url").url == "$flow.key.url"
    assert spec(url="${flow.key.base}/orders").url == "${flow.key.base}/orders"


# URL, query and headers --------------------------------------------------------------------


def test_values_inside_the_url_are_url_escaped() -> None:
    s = spec(url="https://api.example.com/users/$flow.key.id/orders?tag=$flow.key.tag")
    req, missing = build(s, {"flow.key.id": "a/b c", "flow.key.tag": "x&y=z"})
    assert req.url == "https://api.example.com/users/a%2Fb%20c/orders?tag=x%26y%3Dz"
    assert missing == []


def test_a_url_that_is_one_variable_is_used_raw() -> None:
    req, _ = build(spec(url="$flow.key.url"), {"flow.key.url": "https://h.example/p?q=1"})
    assert req.url == "https://h.example/p?q=1"


def test_a_variable_that_starts_the_url_supplies_scheme_and_host() -> None:
    s = spec(url="${flow.key.base}/orders/$flow.key.id")
    req, _ = build(s, {"flow.key.base": "https://h.example/v1", "flow.key.id": "7/8"})
    assert req.url == "https://h.example/v1/orders/7%2F8"


def test_query_parameters_are_appended_encoded() -> None:
    s = spec(url="https://h.example/p?fixed=1#frag", query={"q": "$flow.key.q", "n": "a b"})
    req, _ = build(s, {"flow.key.q": "ä&=+"})
    assert req.url == "https://h.example/p?fixed=1&q=%C3%A4%26%3D%2B&n=a%20b#frag"


def test_unknown_variables_stay_literal_and_are_reported_once() -> None:
    s = spec(
        url="https://h.example/$flow.key.nope",
        headers={"X-A": "$flow.key.nope"},
        body_type="JSON",
        body={"a": "$flow.key.other"},
    )
    req, missing = build(s)
    assert missing == ["flow.key.nope", "flow.key.other"]
    assert json.loads(req.body) == {"a": "$flow.key.other"}
    assert req.headers["X-A"] == "$flow.key.nope"


def test_header_values_are_rendered_and_cannot_inject_headers() -> None:
    s = spec(headers={"X-Name": "$flow.key.name"})
    req, _ = build(s, {"flow.key.name": "evil\r\nX-Injected: 1"})
    assert req.headers["X-Name"] == "evil  X-Injected: 1"


def test_basic_auth_is_rfc_7617_utf8() -> None:
    s = spec(auth={"type": "basic", "username": "jöe", "password": "pä:ss"})
    req, _ = build(s)
    scheme, token = req.headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token).decode("utf-8") == "jöe:pä:ss"


def test_a_password_passed_in_overrides_the_stored_one() -> None:
    s = spec(auth={"type": "basic", "username": "u"})
    req, _ = build(s, password="from-vault")
    assert base64.b64decode(req.headers["Authorization"][6:]) == b"u:from-vault"


def test_an_explicit_content_type_header_wins() -> None:
    s = spec(body_type="JSON", body={"a": 1}, headers={"content-type": "application/vnd.x+json"})
    req, _ = build(s)
    assert req.headers == {"content-type": "application/vnd.x+json"}


def test_method_and_timeout_come_from_the_spec() -> None:
    req, _ = build(spec(method="PATCH", timeout_s=3))
    assert (req.method, req.timeout_s, req.body) == ("PATCH", 3.0, None)


# bodies ---------------------------------------------------------------------------------------


def test_a_json_object_template_keeps_variable_types() -> None:
    s = spec(
        body_type="JSON",
        body={"score": "$flow.key.score", "name": "Hi $flow.key.name", "list": ["$call.cdr"]},
    )
    req, _ = build(s, {"flow.key.score": 42, "flow.key.name": 'A "B"', "call.cdr": "c-1"})
    assert req.body == b'{"score":42,"name":"Hi A \\"B\\"","list":["c-1"]}'
    assert req.headers["Content-Type"] == "application/json"


def test_a_json_string_template_escapes_values_as_json_strings() -> None:
    s = spec(body_type="JSON", body='{"name": "$flow.key.name", "n": $flow.key.n}')
    req, _ = build(s, {"flow.key.name": 'q"\\\n<é>', "flow.key.n": 3})
    assert json.loads(req.body) == {"name": 'q"\\\n<é>', "n": 3}


def test_json_is_compact_utf8() -> None:
    req, _ = build(spec(body_type="JSON", body={"k": "é"}))
    assert req.body == '{"k":"é"}'.encode()


def test_xml_values_are_escaped() -> None:
    s = spec(body_type="XML", body="<a><b>$flow.key.v</b></a>")
    req, _ = build(s, {"flow.key.v": "<&>\"'"})
    assert req.body == b"<a><b>&lt;&amp;&gt;&quot;&apos;</b></a>"
    assert req.headers["Content-Type"] == "application/xml"


def test_plain_text_is_utf8() -> None:
    req, _ = build(spec(body_type="PLAIN_TEXT", body="Hi $flow.key.n"), {"flow.key.n": "Zoë"})
    assert (req.body, req.headers["Content-Type"]) == (
        "Hi Zoë".encode(),
        "text/plain; charset=utf-8",
    )


def test_url_encoded_fields_are_form_encoded() -> None:
    s = spec(body_type="URL_ENCODED", body={"a b": "$flow.key.v", "c": "1"})
    req, _ = build(s, {"flow.key.v": "x&y=z é"})
    assert req.body == b"a+b=x%26y%3Dz+%C3%A9&c=1"
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_multipart_is_deterministic_for_the_same_fields() -> None:
    s = spec(body_type="FORM_DATA", body={"a": "$flow.key.v"})
    first, _ = build(s, {"flow.key.v": "1"})
    again, _ = build(s, {"flow.key.v": "1"})
    other, _ = build(s, {"flow.key.v": "2"})
    assert first.body == again.body
    assert first.headers["Content-Type"].startswith("multipart/form-data; boundary=flowhook-")
    assert other.headers["Content-Type"] != first.headers["Content-Type"]


def test_no_body_sends_the_default_payload_as_json_if_given() -> None:
    empty, _ = build(spec())
    assert (empty.body, empty.headers) == (None, {})
    with_payload, _ = build(spec(), default_payload={"flowStatus": "COMPLETED"})
    assert with_payload.body == b'{"flowStatus":"COMPLETED"}'
    assert with_payload.headers["Content-Type"] == "application/json"


# round trips to a real receiver ------------------------------------------------------------


@dataclass
class Received:
    method: str
    headers: dict[str, str]
    query: dict[str, str]
    path_value: str
    raw: bytes
    form: dict[str, str] = field(default_factory=dict)


@dataclass
class Receiver:
    port: int = 0
    received: list[Received] = field(default_factory=list)

    @property
    def last(self) -> Received:
        return self.received[-1]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()

    async def handle(request: web.Request) -> web.Response:
        raw, form = b"", {}
        if request.content_type == "multipart/form-data":  # parsed from the stream
            form = {k: str(v) for k, v in (await request.post()).items()}
        else:
            raw = await request.read()
            if request.content_type == "application/x-www-form-urlencoded":
                form = {k: str(v) for k, v in (await request.post()).items()}
        rec.received.append(
            Received(
                method=request.method,
                headers=dict(request.headers),
                query=dict(request.query),
                path_value=request.match_info["value"],
                raw=raw,
                form=form,
            )
        )
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/in/{value}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rec.port = runner.addresses[0][1]
    yield rec
    await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    http = HttpClient(Settings(allow_private_targets=True))
    yield http
    await http.close()


async def deliver(client: HttpClient, receiver: Receiver, value: str, **fields: Any) -> Received:
    """Build a request carrying ``value`` in $flow.key.v, send it, return what arrived."""
    fields.setdefault("url", f"http://127.0.0.1:{receiver.port}/in/body")
    req, missing = build(spec(**fields), {"flow.key.v": value})
    assert missing == []
    result = await client.send(req, http_enabled=True)
    assert result.ok, result
    return receiver.last


@pytest.mark.parametrize("value", ODD_VALUES)
async def test_odd_values_round_trip_in_the_url_and_query(
    client: HttpClient, receiver: Receiver, value: str
) -> None:
    url = f"http://127.0.0.1:{receiver.port}/in/$flow.key.v"
    got = await deliver(
        client, receiver, value or "-", url=url, query={"q": "$flow.key.v"}, method="GET"
    )
    assert (got.path_value, got.query["q"]) == (value or "-", value or "-")


@pytest.mark.parametrize("value", ODD_VALUES)
async def test_odd_values_round_trip_in_a_json_object_body(
    client: HttpClient, receiver: Receiver, value: str
) -> None:
    got = await deliver(client, receiver, value, body_type="JSON", body={"v": "$flow.key.v"})
    assert json.loads(got.raw) == {"v": value}
    assert got.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("value", ODD_VALUES)
async def test_odd_values_round_trip_in_a_json_string_template(
    client: HttpClient, receiver: Receiver, value: str
) -> None:
    got = await deliver(client, receiver, value, body_type="JSON", body='{"v": "$flow.key.v"}')
    assert json.loads(got.raw) == {"v": value}


@pytest.mark.parametrize("value", ODD_VALUES)
async def test_odd_values_round_trip_in_xml(
    client: HttpClient, receiver: Receiver, value: str
) -> None:
    got = await deliver(
        client, receiver, value, body_type="XML", body='<r a="$flow.key.v"><v>$flow.key.v</v></r>'
    )
    root = ET.fromstring(got.raw)
    assert (root.findtext("v") or "", root.get("a")) == (value, value)
    assert got.headers["Content-Type"] == "application/xml"


@pytest.mark.parametrize("value", ODD_VALUES)
async def test_odd_values_round_trip_as_multipart_fields(
    client: HttpClient, receiver: Receiver, value: str
) -> None:
    got = await deliver(
        client, receiver, value, body_type="FORM_DATA", body={"v": "$flow.key.v", "k": "fixed"}
    )
    assert got.form == {"v": value, "k": "fixed"}
    assert got.headers["Content-Type"].startswith("multipart/form-data; boundary=")


@pytest.mark.parametrize("value", ODD_VALUES)
async def test_odd_values_round_trip_url_encoded(
    client: HttpClient, receiver: Receiver, value: str
) -> None:
    got = await deliver(client, receiver, value, body_type="URL_ENCODED", body={"v": "$flow.key.v"})
    assert got.form == {"v": value}


@pytest.mark.parametrize("value", ODD_VALUES)
async def test_odd_values_round_trip_as_plain_text(
    client: HttpClient, receiver: Receiver, value: str
) -> None:
    got = await deliver(client, receiver, value, body_type="PLAIN_TEXT", body="[$flow.key.v]")
    assert got.raw.decode("utf-8") == f"[{value}]"
    assert got.headers["Content-Type"] == "text/plain; charset=utf-8"


async def test_the_receiver_decodes_basic_auth(client: HttpClient, receiver: Receiver) -> None:
    got = await deliver(
        client, receiver, "x", auth={"type": "basic", "username": "jöe", "password": "p:wörd"}
    )
    decoded = AiohttpBasicAuth.decode(got.headers["Authorization"], encoding="utf-8")
    assert (decoded.login, decoded.password) == ("jöe", "p:wörd")


async def test_the_default_payload_arrives_as_json(client: HttpClient, receiver: Receiver) -> None:
    req, _ = build(
        spec(url=f"http://127.0.0.1:{receiver.port}/in/done"),
        default_payload={"flowStatus": "COMPLETED", "keys": [{"name": "a", "value": "é"}]},
    )
    assert (await client.send(req, http_enabled=True)).ok
    assert json.loads(receiver.last.raw)["keys"] == [{"name": "a", "value": "é"}]


RELAXED = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@RELAXED
@given(value=TEXT)
async def test_any_text_round_trips_in_json(
    client: HttpClient, receiver: Receiver, value: str
) -> None:
    req, _ = build(
        spec(
            url=f"http://127.0.0.1:{receiver.port}/in/j",
            body_type="JSON",
            body={"v": "$flow.key.v", "t": "<$flow.key.v>"},
        ),
        {"flow.key.v": value},
    )
    assert (await client.send(req, http_enabled=True)).ok
    assert json.loads(receiver.last.raw) == {"v": value, "t": f"<{value}>"}


@RELAXED
@given(value=TEXT)
async def test_any_text_round_trips_in_a_json_string_template(
    client: HttpClient, receiver: Receiver, value: str
) -> None:
    req, _ = build(
        spec(
            url=f"http://127.0.0.1:{receiver.port}/in/j", body_type="JSON", body='["$flow.key.v"]'
        ),
        {"flow.key.v": value},
    )
    assert (await client.send(req, http_enabled=True)).ok
    assert json.loads(receiver.last.raw) == [value]


@RELAXED
@given(value=TEXT, name=TEXT.filter(bool))
async def test_any_text_round_trips_url_encoded(
    client: HttpClient, receiver: Receiver, value: str, name: str
) -> None:
    req, _ = build(
        spec(
            url=f"http://127.0.0.1:{receiver.port}/in/u",
            body_type="URL_ENCODED",
            body={name: "$flow.key.v"},
            query={"q": "$flow.key.v"},
        ),
        {"flow.key.v": value},
    )
    assert (await client.send(req, http_enabled=True)).ok
    assert receiver.last.form == {name: value}
    assert receiver.last.query == {"q": value}


@RELAXED
@given(value=XML_TEXT)
async def test_any_xml_legal_text_round_trips_in_xml(
    client: HttpClient, receiver: Receiver, value: str
) -> None:
    req, _ = build(
        spec(
            url=f"http://127.0.0.1:{receiver.port}/in/x",
            body_type="XML",
            body='<r a="$flow.key.v"><v>$flow.key.v</v></r>',
        ),
        {"flow.key.v": value},
    )
    assert (await client.send(req, http_enabled=True)).ok
    root = ET.fromstring(receiver.last.raw)
    assert (root.findtext("v") or "", root.get("a")) == (value, value)
