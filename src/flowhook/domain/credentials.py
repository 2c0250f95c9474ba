"""Which parts of an outgoing call are credentials, decided in this one place.

A header or query parameter whose name says key, token, secret, auth, password, signature,
cookie or credential is a secret (``X-Api-Key``, ``X-Auth-Token``, ``Authorization``,
``?access_token=``), and so is the user-info of a URL (``https://user:pass@host``). Every
caller uses these functions: the stored copy of a delivery and of a webhook, the API
answers, the step log and the delivery log show :data:`REDACTED` instead, the values are
kept encrypted apart (``seal_request``), and a redirect to another origin drops them.

Pure: strings and dicts in, strings and dicts out. Templates (``$flow.key.x``) are kept as
written: a URL is split as text, never re-encoded.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from flowhook.domain.references import REFERENCE
from flowhook.errors import Code, ValidationFailed

REDACTED = "***"
"""What is shown instead of a secret; sent back unchanged in an update, it keeps the stored
value."""

_SECRET_WORDS = re.compile(
    r"key|token|secret|auth|passw|signature|cookie|credential", re.IGNORECASE
)


_LABELS = {"auth": "basic-auth", "headers": "header", "query": "query parameter"}


class UnknownSecret(ValidationFailed):
    """A :data:`REDACTED` marker was sent where no value is stored to keep."""

    code = Code.UNKNOWN_SECRET

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} is {REDACTED!r}, but no value is stored for it: send the real value",
            details={"field": what},
        )
        self.what = what


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether a header or query parameter named ``name`` carries a credential."""
    return _SECRET_WORDS.search(name) is not None


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers safe to show: the values of secret ones replaced by :data:`REDACTED`."""
    return {k: (REDACTED if is_secret_name(k) else v) for k, v in headers.items()}


def secret_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if is_secret_name(k)}


def without_secret_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if not is_secret_name(k)}


def redact_url(url: str) -> str:
    """``url`` safe to show: the user-info password (or a lone user name, often a token)
    and the values of secret query parameters replaced by :data:`REDACTED`."""
    if "@" not in url and "=" not in url:
        return url  # nothing that could be a credential (the common case)
    parts = _split(url)
    if parts is None:
        return url
    netloc, query = parts.netloc, parts.query
    userinfo, at, host = netloc.rpartition("@")
    if at and userinfo:
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{host}" if colon else f"{REDACTED}@{host}"
    pairs = [
        (name, REDACTED if value and is_secret_name(unquote(name)) else value, eq)
        for name, value, eq in _pairs(query)
    ]
    redacted = _join_pairs(pairs)
    if netloc == parts.netloc and redacted == query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=redacted))


def restore_url(url: str, stored: str | None) -> str:
    """``url`` with each :data:`REDACTED` in a secret place replaced by the value of the
    same place in ``stored`` (the real URL kept before): an update that sends back the URL
    as it was shown keeps its credentials."""
    if REDACTED not in url:
        return url
    parts = _split(url)
    old = _split(stored) if stored else None
    if parts is None:
        return url
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at:
        old_userinfo = old.netloc.rpartition("@")[0] if old is not None else ""
        user, colon, password = userinfo.partition(":")
        old_password = old_userinfo.partition(":")[2]
        if colon and password == REDACTED:
            if not old_password:
                raise UnknownSecret("the URL's password")
            netloc = f"{user}:{old_password}@{host}"
        elif not colon and user == REDACTED:
            if not old_userinfo:
                raise UnknownSecret("the URL's user-info")
            netloc = f"{old_userinfo}@{host}"
    old_values: dict[str, str] = {}
    for name, value, _eq in _pairs(old.query if old is not None else ""):
        old_values.setdefault(name, value)
    pairs = []
    for name, value, eq in _pairs(parts.query):
        if value == REDACTED and is_secret_name(unquote(name)):
            if name not in old_values or old_values[name] == REDACTED:
                raise UnknownSecret(f"the URL's query parameter {unquote(name)!r}")
            value = old_values[name]
        pairs.append((name, value, eq))
    return urlunsplit(parts._replace(netloc=netloc, query=_join_pairs(pairs)))


def seal_request(
    request: dict[str, Any], stored: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a request spec (its JSON form) into a copy safe to store and show, with
    :data:`REDACTED` in place of each secret, and the secret values (to keep encrypted).

    ``stored`` holds the secret values kept before: a marker sent back takes its value from
    there (:class:`UnknownSecret` when there is none). A value that is exactly one variable
    reference (``$flow.key.api_key``) holds no secret itself and stays visible.
    """
    stored = stored or {}
    public = dict(request)
    values: dict[str, Any] = {}

    def keep(kind: str, name: str, value: Any) -> Any:
        if not isinstance(value, str) or REFERENCE.fullmatch(value):
            return value
        if value == REDACTED:
            old = _find(stored.get(kind) or {}, name)
            if old is None:
                raise UnknownSecret(f"{_LABELS[kind]} {name!r}")
            value = old
        values.setdefault(kind, {})[name] = value
        return REDACTED

    auth = request.get("auth")
    if isinstance(auth, dict) and auth.get("password") is not None:
        public["auth"] = {**auth, "password": keep("auth", "password", auth["password"])}
    for kind in ("headers", "query"):
        given = request.get(kind)
        if isinstance(given, dict):
            public[kind] = {
                name: keep(kind, name, value) if is_secret_name(name) else value
                for name, value in given.items()
            }
    url = request.get("url")
    if isinstance(url, str) and not REFERENCE.match(url):
        real = restore_url(url, stored.get("url"))
        shown = redact_url(real)
        if shown != real:
            public["url"] = shown
            values["url"] = real
    return public, values


def unseal_request(public: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The request spec (JSON form) with its secret values put back."""
    if not values:
        return public
    real = dict(public)
    password = (values.get("auth") or {}).get("password")
    if password is not None and isinstance(real.get("auth"), dict):
        real["auth"] = {**real["auth"], "password": password}
    for kind in ("headers", "query"):
        if values.get(kind) and isinstance(real.get(kind), dict):
            real[kind] = {**real[kind], **values[kind]}
    if values.get("url"):
        real["url"] = values["url"]
    return real


def seal_flow(
    document: dict[str, Any], stored: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`seal_request` for the inline request of every custom webhook widget of a
    flow document; secret values by widget id."""
    stored = stored or {}
    widgets = document.get("widgets")
    if not isinstance(widgets, dict):
        return document, {}
    public_widgets: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for widget_id, widget in widgets.items():
        request = widget.get("request") if isinstance(widget, dict) else None
        if not (isinstance(request, dict) and widget.get("type") == "webhook"):
            public_widgets[widget_id] = widget
            continue
        try:
            public, found = seal_request(request, stored.get(widget_id))
        except UnknownSecret as exc:
            raise UnknownSecret(f"widget {widget_id!r}: {exc.what}") from None
        public_widgets[widget_id] = {**widget, "request": public}
        if found:
            values[widget_id] = found
    return {**document, "widgets": public_widgets}, values


def unseal_flow(document: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The flow document with the secret values of its webhook widgets put back."""
    if not values:
        return document
    widgets = dict(document.get("widgets") or {})
    for widget_id, found in values.items():
        widget = widgets.get(widget_id)
        if isinstance(widget, dict) and isinstance(widget.get("request"), dict):
            widgets[widget_id] = {**widget, "request": unseal_request(widget["request"], found)}
    return {**document, "widgets": widgets}


# internals ------------------------------------------------------------------------------


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:
        return None


def _pairs(query: str) -> list[tuple[str, str, str]]:
    """``a=1&b&c=`` as (name, value, "=" or "") in order, kept as written."""
    if not query:
        return []
    out = []
    for item in query.split("&"):
        name, eq, value = item.partition("=")
        out.append((name, value, eq))
    return out


def _join_pairs(pairs: list[tuple[str, str, str]]) -> str:
    return "&".join(f"{name}{eq}{value}" for name, value, eq in pairs)


def _find(values: dict[str, Any], name: str) -> Any:
    if name in values:
        return values[name]
    lowered = name.lower()
    return next((v for k, v in values.items() if k.lower() == lowered), None)
