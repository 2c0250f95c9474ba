"""Rendering console pages: one Jinja2 environment over ``ui/templates/`` (autoescaped),
the navigation, and the filters every page shares (times in the account's time zone).

A page handler ends with ``return render(request, "webhooks/list.html", webhooks=...)``;
the template extends ``base.html`` and fills ``{% block content %}``. ``visitor`` (the
signed-in user, :class:`~flowhook.usecases.users.Visitor`), ``csrf_token`` and ``nav`` are
in every template's context without being passed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from flowhook.usecases.users import Visitor

TEMPLATES = Path(__file__).parent / "templates"

NAV: tuple[tuple[str, str], ...] = (
    ("Home", "/"),
    ("Flows", "/flows"),
    ("Executions", "/executions"),
    ("Webhooks", "/webhooks"),
    ("Deliveries", "/deliveries"),
    ("Agents", "/agents"),
    ("Short links", "/short-links"),
    ("Settings", "/settings"),
)
"""The console's sections, in the order the navigation shows them."""


def visitor_of(request: Request) -> Visitor | None:
    """The signed-in visitor of a request (set by :func:`flowhook.ui.session.signed_in`)."""
    found: Visitor | None = getattr(request.state, "visitor", None)
    return found


def _when(value: float | None, timezone: str = "UTC") -> str:
    """Epoch seconds as ``2026-11-30 09:15:02`` in the account's time zone."""
    if value is None:
        return "—"
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return dt.datetime.fromtimestamp(value, zone).strftime("%Y-%m-%d %H:%M:%S")


def _iso(value: float | None) -> str:
    """For ``<time datetime=…>``."""
    if value is None:
        return ""
    return dt.datetime.fromtimestamp(value, dt.UTC).isoformat()


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str)


def _attr_json(value: Any) -> Markup:
    """A value as JSON in an HTML attribute (``hx-headers='{{ x | attr_json }}'``)."""
    return Markup(json.dumps(value).replace("&", "&amp;").replace("'", "&#39;"))


environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "svg", "xml"], default=True),
    undefined=StrictUndefined,  # a misspelt name fails the page's test, not the user's eye
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["when"] = _when
environment.filters["iso"] = _iso
environment.filters["pretty_json"] = _json
environment.filters["attr_json"] = _attr_json


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page (or an htmx fragment) as an HTML response."""
    visitor = visitor_of(request)
    values: dict[str, Any] = {
        "request": request,
        "visitor": visitor,
        "csrf_token": visitor.csrf_token if visitor else context.pop("csrf_token", ""),
        "nav": NAV,
        "path": request.url.path,
        "timezone": visitor.account.timezone if visitor else "UTC",
        "title": "",
    }
    values.update(context)
    html = environment.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def is_htmx(request: Request) -> bool:
    """An htmx request (answer with a fragment) rather than a plain navigation or form."""
    return request.headers.get("hx-request") == "true"
