"""The one builder of outgoing requests: a ``RequestSpec`` plus the variables of a run become
an ``OutgoingRequest`` with its body already encoded. Used by the webhook widget, the check
button, deliveries, internal methods and (later) SMS gateways, so escaping rules live here only.

Pure: no I/O. Every value is escaped for where it lands (URL, JSON string, XML, form), so a
customer's name with quotes, ``<&>`` or line breaks never breaks a request.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import quote, urlencode

from flowhook import codec
from flowhook.domain.message import OutgoingRequest
from flowhook.domain.request_spec import BasicAuth, RequestSpec
from flowhook.engine import templating
from flowhook.engine.templating import Lookup, references

JSON_TYPE = "application/json"
XML_TYPE = "application/xml"
FORM_URLENCODED_TYPE = "application/x-www-form-urlencoded"
TEXT_TYPE = "text/plain; charset=utf-8"


def build_request(
    spec: RequestSpec,
    lookup: Lookup,
    *,
    default_payload: Any = None,
    password: str | None = None,
    target: Target | None = None,
) -> tuple[OutgoingRequest, list[str]]:
    """Render ``spec`` with ``lookup``; return the request and the unknown variable names.

    ``default_payload`` is sent as JSON when the spec has no body (flow-complete deliveries,
    internal methods); ``password`` overrides the spec's (secrets kept encrypted elsewhere).
    ``target`` is the spec's URL and target headers already rendered (``fixed_target``).
    """
    missing: list[str] = []
    if target is None:
        target = _target(spec, lookup, missing, password)
    url, target_headers = target
    headers: dict[str, str] = {}
    body, content_type = _body(spec, lookup, default_payload, missing)
    if content_type is not None:
        headers["Content-Type"] = content_type
    apply_headers(headers, target_headers)

    request = OutgoingRequest(
        method=spec.method, url=url, headers=headers, body=body, timeout_s=spec.timeout_s
    )
    return request, list(dict.fromkeys(missing))


def build_target(
    spec: RequestSpec,
    lookup: Lookup,
    base_headers: dict[str, str],
    target: Target | None = None,
) -> tuple[OutgoingRequest, list[str]]:
    """Where a saved webhook's delivery goes at this attempt: ``spec``'s current URL, query,
    auth and headers over ``base_headers`` (the message's own, e.g. its Content-Type);
    the body is the caller's. Returns the request without body, and the unknown names.
    ``target``: the spec's target already rendered (``fixed_target``)."""
    missing: list[str] = []
    url, target_headers = target if target is not None else _target(spec, lookup, missing, None)
    headers = dict(base_headers)
    apply_headers(headers, target_headers)
    request = OutgoingRequest(spec.method, url, headers, timeout_s=spec.timeout_s)
    return request, list(dict.fromkeys(missing))


Target = tuple[str, dict[str, str]]
"""A rendered target: the URL (with its query) and the headers the spec adds (auth, its own)."""


def fixed_target(spec: RequestSpec) -> Target | None:
    """The target of a spec that refers to no variable, rendered: the same for every run,
    so its callers render it once per version of a saved webhook. None when it refers to
    variables. The caller must not change the headers it returns."""
    if target_references(spec):
        return None
    missing: list[str] = []
    return _target(spec, _nothing, missing, None)


def _nothing(_name: str) -> Any:
    return templating.MISSING


def target_references(spec: RequestSpec) -> list[str]:
    """The variables a spec's target (URL, query, auth, headers) refers to: what a delivery
    keeps of its execution so that its target can be rendered again at each attempt."""
    texts = [spec.url, *spec.query.keys(), *spec.query.values(), *spec.headers.values()]
    if isinstance(spec.auth, BasicAuth):
        texts.append(spec.auth.username)
    return list(dict.fromkeys(name for text in texts if "$" in text for name in references(text)))


def apply_headers(headers: dict[str, str], extra: dict[str, str]) -> None:
    """Add ``extra`` to ``headers``; a name given in both (in any case) takes ``extra``'s."""
    for name, value in extra.items():
        for existing in [k for k in headers if k.lower() == name.lower()]:
            del headers[existing]  # the user's own header wins (e.g. a vendor JSON type)
        headers[name] = value


def basic_authorization(username: str, password: str) -> str:
    """``Authorization`` value for HTTP Basic (RFC 7617, UTF-8 charset)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def json_body(value: Any) -> bytes:
    """Compact UTF-8 JSON, as every JSON body we send is encoded."""
    return codec.dumps(value)


def multipart_body(fields: dict[str, str]) -> tuple[bytes, str]:
    """``multipart/form-data`` body and its content type.

    The boundary is derived from the content, so the same fields always give the same bytes
    (stable for signing and retries) and the boundary cannot occur inside a field.
    """
    parts = [(_multipart_name(name).encode(), value.encode()) for name, value in fields.items()]
    digest = hashlib.sha256()
    for name, value in parts:
        digest.update(len(name).to_bytes(8, "big") + name + len(value).to_bytes(8, "big") + value)
    boundary = "flowhook-" + digest.hexdigest()[:32]
    delimiter = b"--" + boundary.encode()
    out = bytearray()
    for name, value in parts:
        out += delimiter + b'\r\nContent-Disposition: form-data; name="' + name + b'"\r\n\r\n'
        out += value + b"\r\n"
    out += delimiter + b"--\r\n"
    return bytes(out), f"multipart/form-data; boundary={boundary}"


# internals ------------------------------------------------------------------------------


def _render(template: str, lookup: Lookup, escape: templating.Escape, missing: list[str]) -> str:
    rendered = templating.render(template, lookup, escape)
    missing.extend(rendered.missing)
    return rendered.text


def _target(
    spec: RequestSpec, lookup: Lookup, missing: list[str], password: str | None
) -> tuple[str, dict[str, str]]:
    """The rendered URL (with query) and the headers the spec adds (auth, then its own)."""
    url = _render_url(spec.url, lookup, missing)
    if spec.query:
        url = _with_query(url, spec.query, lookup, missing)
    headers: dict[str, str] = {}
    if isinstance(spec.auth, BasicAuth):
        username = _render(spec.auth.username, lookup, templating.text, missing)
        secret = password if password is not None else spec.auth.password or ""
        headers["Authorization"] = basic_authorization(username, secret)
    for name, template in spec.headers.items():
        value = _render(template, lookup, templating.text, missing)
        # A variable with a line break must not inject headers (aiohttp would refuse it).
        apply_headers(headers, {name: value.replace("\r", " ").replace("\n", " ")})
    return url, headers


def _render_url(template: str, lookup: Lookup, missing: list[str]) -> str:
    """Values are URL-escaped, except a reference that starts the URL: it supplies the
    scheme and host (``$flow.key.url`` or ``${flow.key.base}/orders``), so it goes in raw."""
    lead = templating.REFERENCE.match(template)
    if lead is None:
        return _render(template, lookup, templating.url_component, missing)
    head = _render(lead.group(0), lookup, templating.text, missing)
    tail = _render(template[lead.end() :], lookup, templating.url_component, missing)
    return head.strip() + tail


def _with_query(url: str, query: dict[str, str], lookup: Lookup, missing: list[str]) -> str:
    pairs = [
        (
            _render(name, lookup, templating.text, missing),
            _render(value, lookup, templating.text, missing),
        )
        for name, value in query.items()
    ]
    encoded = urlencode(pairs, quote_via=quote)
    base, hash_sign, fragment = url.partition("#")
    separator = "&" if "?" in base else "?"
    if base.endswith(("?", "&")):
        separator = ""
    return f"{base}{separator}{encoded}{hash_sign}{fragment}"


def _body(
    spec: RequestSpec, lookup: Lookup, default_payload: Any, missing: list[str]
) -> tuple[bytes | None, str | None]:
    kind, body = spec.body_type, spec.body
    if kind == "JSON":
        if isinstance(body, str):
            return _render(body, lookup, templating.json_string, missing).encode(), JSON_TYPE
        value, unknown = templating.render_value(body, lookup)
        missing.extend(unknown)
        return json_body(value), JSON_TYPE
    if kind == "XML":
        return _render(body, lookup, templating.xml, missing).encode(), XML_TYPE
    if kind == "PLAIN_TEXT":
        return _render(body, lookup, templating.text, missing).encode(), TEXT_TYPE
    if kind in ("FORM_DATA", "URL_ENCODED"):
        fields = {
            _render(name, lookup, templating.text, missing): _render(
                value, lookup, templating.text, missing
            )
            for name, value in body.items()
        }
        if kind == "FORM_DATA":
            return multipart_body(fields)
        return urlencode(list(fields.items())).encode("ascii"), FORM_URLENCODED_TYPE
    if default_payload is not None:
        return json_body(default_payload), JSON_TYPE
    return None, None


def _multipart_name(name: str) -> str:
    """A field name inside ``name="…"`` (WHATWG HTML form encoding)."""
    return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
