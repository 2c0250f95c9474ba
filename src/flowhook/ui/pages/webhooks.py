"""The Webhooks page ("Advanced → Webhook"): the list, the add/edit form with its
**Check** button (a green tick, or a red cross with the reason and status code, beside
the button without a page reload), delete.

Everything is a plain form that works without JavaScript (the Check button then shows
the whole form again with its result); htmx makes Check answer in place. The rules are
the use cases' (:mod:`flowhook.usecases.webhooks`): names taken, webhooks in use, a
replaced webhook keeping its secrets, plain HTTP for accounts without it.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from flowhook.domain.request_spec import BasicAuth
from flowhook.errors import Code, FlowhookError
from flowhook.statuses import status_of
from flowhook.ui.app import page_router
from flowhook.ui.render import is_htmx, render
from flowhook.ui.session import AdminDep, VisitorDep, runtime_of
from flowhook.usecases import webhooks
from flowhook.usecases.users import Visitor
from flowhook.usecases.webhooks import CheckIn, CheckResult, SavedWebhook, WebhookIn

router = page_router()

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
BODY_TYPES = ("NONE", "JSON", "XML", "FORM_DATA", "URL_ENCODED", "PLAIN_TEXT")
FIELDS: tuple[str, ...] = ("name", "method", "url", "auth", "username", "password", "headers")
FIELDS += ("query", "body_type", "body", "timeout_s", "is_default", "ordered_by", "order_variable")
ORDERED_BY = {
    "": "Not ordered",
    "contact": "Contact number",
    "execution": "Execution",
    "variable": "Flow variable",
}
"""The "Ordered by" choices: deliveries with the same key go one at a time, in order."""

REASONS = {
    Code.HTTP_DISABLED: webhooks.HTTP_ADVICE,
    Code.BLOCKED_ADDRESS: "the URL is a private, local or reserved address",
    Code.EGRESS_DENIED: "this server's egress policy does not allow that address",
    Code.INVALID_URL: "the URL is not one that can be called",
    Code.TIMEOUT: "no answer within the timeout",
    Code.CONNECTION_ERROR: "could not connect",
    Code.CLIENT_ERROR: "the endpoint refused the request (4xx)",
    Code.SERVER_ERROR: "the endpoint failed (5xx)",
    Code.REDIRECTION: "the endpoint answered with a redirect (not followed)",
}
"""A check's ``error_reason`` in words (its ``error_message`` adds the details)."""

DISABLED_REASONS = {
    webhooks.DISABLED_GONE: "the endpoint answered 410 Gone",
    webhooks.DISABLED_FAILING_TOO_LONG: "its deliveries failed for too long",
}
"""Why a webhook was disabled (``health.disabled_reason``), in words."""


class FormErrors(Exception):
    """Field errors of a posted form: field name → message (``_`` for the whole form)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


# the form <-> the use case's pydantic form --------------------------------------------------


def _pairs(
    text: str, separator: str, what: str, field: str, errors: dict[str, str]
) -> dict[str, str]:
    """``Name: value`` (headers) or ``name=value`` lines as a dict; a bad line's message goes
    to ``errors`` (and the field reads as empty, so that the other fields are still checked)."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition(separator)
        if not sep or not name.strip():
            errors.setdefault(field, f"line {number}: write each {what} as name{separator}value")
            return {}
        out[name.strip()] = value.strip()
    return out


def _lines(values: dict[str, Any], separator: str) -> str:
    return "\n".join(f"{name}{separator}{value}" for name, value in values.items())


def _body(body_type: str, text: str, errors: dict[str, str]) -> Any:
    """The body as the use case takes it; unreadable, its message goes to ``errors``."""
    if body_type == "NONE":
        return None if not text.strip() else text
    if body_type == "JSON":
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            errors.setdefault("body", f"not valid JSON: {exc}")
            return None
    if body_type in ("FORM_DATA", "URL_ENCODED"):
        return _pairs(text, "=", "field", "body", errors)
    return text


def _body_text(body_type: str, body: Any) -> str:
    if body is None:
        return ""
    if body_type == "JSON":
        return body if isinstance(body, str) else json.dumps(body, indent=2)
    if isinstance(body, dict):
        return _lines(body, "=")
    return str(body)


def _field_of(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "body"  # the model's own checks are about the body and auth
    head = str(loc[0])
    if head == "auth":
        return "username" if "username" in map(str, loc) else "auth"
    return head if head in FIELDS else "_"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def parse(form: FormData, model: type[WebhookIn] | type[CheckIn]) -> WebhookIn | CheckIn:
    """The posted fields as the use case's form; FormErrors otherwise, with every field's
    error at once: a field the form cannot read (a header line, the JSON body) is read as
    empty and the use case's model still checks the others."""

    def text(name: str) -> str:
        return _text(form, name)

    errors: dict[str, str] = {}
    body_type = text("body_type") or "NONE"
    data: dict[str, Any] = {
        "method": text("method") or "POST",
        "url": text("url"),
        "headers": _pairs(text("headers"), ":", "header", "headers", errors),
        "query": _pairs(text("query"), "=", "parameter", "query", errors),
        "body_type": body_type,
        "body": _body(body_type, text("body"), errors),
        "is_default": text("is_default") == "on",
    }
    if text("timeout_s").strip():
        data["timeout_s"] = text("timeout_s").strip()
    if text("name").strip() or model is WebhookIn:
        data["name"] = text("name").strip()
    if text("auth") == "basic":
        data["auth"] = {"type": "basic", "username": text("username")}
        if text("password"):
            data["auth"]["password"] = text("password")
    data["ordered_by"] = text("ordered_by") or None
    if data["ordered_by"] == "variable":
        data["order_variable"] = text("order_variable").strip()
        if not data["order_variable"]:
            errors["order_variable"] = "name the variable whose value is the key"
            data["ordered_by"], data["order_variable"] = None, None  # said once, here
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            message = str(error["msg"]).removeprefix("Value error, ")
            errors.setdefault(_field_of(tuple(error["loc"])), message)
    if errors:
        raise FormErrors(errors)
    return parsed


async def _read(
    request: Request,
    visitor: Visitor,
    form: FormData,
    model: type[WebhookIn] | type[CheckIn],
    saved: SavedWebhook | None,
) -> WebhookIn | CheckIn:
    """:func:`parse`, then the use case's refusals that need no call to the target (plain
    HTTP; a taken name, for a save): every one that applies is in one FormErrors, so a
    refused form shows all its errors at once. A use case's refusal alone is raised as it
    is (its own status: a taken name is a 409)."""
    errors: dict[str, str] = {}
    parsed: WebhookIn | CheckIn | None = None
    try:
        parsed = parse(form, model)
    except FormErrors as exc:
        errors = dict(exc.errors)
    refusals: list[FlowhookError] = []
    if "url" not in errors:
        try:
            webhooks.refuse_plain_http(visitor.account, _text(form, "url"))
        except FlowhookError as exc:
            refusals.append(exc)
    name = _text(form, "name").strip()
    if model is WebhookIn and name and "name" not in errors:
        owner = saved.id if saved else None
        try:
            await webhooks.refuse_taken_name(
                runtime_of(request), visitor.account, name, owner=owner
            )
        except FlowhookError as exc:
            refusals.append(exc)
    if parsed is not None and len(refusals) == 1:
        raise refusals[0]
    for refusal in refusals:
        for field, message in _errors_of(refusal).items():
            errors.setdefault(field, message)
    if errors:
        raise FormErrors(errors)
    assert parsed is not None
    return parsed


def values_of(saved: SavedWebhook | None, form: FormData | None = None) -> dict[str, Any]:
    """What the form's fields show: a saved webhook (secrets as stored: ``***``), or what
    was posted (never the password)."""
    if form is not None:
        shown: dict[str, Any] = {n: form.get(n) or "" for n in FIELDS if n != "password"}
        shown["is_default"] = form.get("is_default") == "on"
        shown["password_set"] = bool(saved and saved.password)
        return shown
    if saved is None:
        return {
            "name": "",
            "method": "POST",
            "url": "",
            "auth": "none",
            "username": "",
            "headers": "",
            "query": "",
            "body_type": "NONE",
            "body": "",
            "timeout_s": "10",
            "is_default": False,
            "password_set": False,
            "ordered_by": "",
            "order_variable": "",
        }
    spec = saved.spec
    basic = isinstance(spec.auth, BasicAuth)
    return {
        "name": saved.name,
        "method": spec.method,
        "url": spec.url,
        "auth": "basic" if basic else "none",
        "username": spec.auth.username if isinstance(spec.auth, BasicAuth) else "",
        "headers": _lines(spec.headers, ": "),
        "query": _lines(spec.query, "="),
        "body_type": spec.body_type,
        "body": _body_text(spec.body_type, spec.body),
        "timeout_s": f"{spec.timeout_s:g}",
        "is_default": saved.is_default,
        "password_set": saved.password is not None,
        "ordered_by": saved.ordered_by or "",
        "order_variable": saved.order_variable or "",
    }


def _errors_of(exc: FlowhookError) -> dict[str, str]:
    """A use case's refusal at the field it is about (``details[].path``), else on top."""
    fields: dict[str, str] = {}
    if isinstance(exc.details, list):
        for item in exc.details:
            if isinstance(item, dict) and str(item.get("path", "")).startswith("$."):
                name = str(item["path"])[2:].split(".")[0]
                fields.setdefault(name if name in FIELDS else "_", str(item.get("message")))
    if exc.code == Code.WEBHOOK_NAME_TAKEN:
        fields["name"] = exc.message
    return fields or {"_": exc.message}


def _refusal(exc: FormErrors | FlowhookError) -> tuple[dict[str, str], int]:
    """The field errors and HTTP status of a refused form: the form's own check (422), or
    the use case's (its error's status)."""
    if isinstance(exc, FormErrors):
        return exc.errors, 422
    return _errors_of(exc), status_of(exc)


# pages --------------------------------------------------------------------------------------


async def _form_page(
    request: Request,
    visitor: Visitor,
    *,
    saved: SavedWebhook | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    result: CheckResult | None = None,
    status_code: int = 200,
) -> Response:
    rt = runtime_of(request)
    title = f"Webhook {saved.name}" if saved else "Add webhook"
    stats = (await webhooks.get_with_stats(rt, visitor.account, saved.id))["stats"] if saved else {}
    return render(
        request,
        "webhooks/form.html",
        status_code=status_code,
        title=title,
        saved=saved,
        v=values,
        errors=errors or {},
        result=result,
        reasons=REASONS,
        methods=METHODS,
        body_types=BODY_TYPES,
        internal_urls=webhooks.internal_urls(rt),
        http_enabled=visitor.account.http_enabled,
        stats=stats,
        disabled_reasons=DISABLED_REASONS,
        ordered_by=ORDERED_BY,
    )


async def _form_again(
    request: Request,
    visitor: Visitor,
    saved: SavedWebhook | None,
    form: FormData,
    errors: dict[str, str],
    status_code: int,
    result: CheckResult | None = None,
) -> Response:
    """The form as it was posted (not as saved), with its errors and a check's result."""
    return await _form_page(
        request,
        visitor,
        saved=saved,
        values=values_of(saved, form),
        errors=errors,
        result=result,
        status_code=status_code,
    )


@router.get("/webhooks")
async def list_page(request: Request, visitor: VisitorDep) -> Response:
    listed = await webhooks.list_with_stats(runtime_of(request), visitor.account)
    return render(
        request,
        "webhooks/list.html",
        title="Webhooks",
        webhooks=[saved for saved, _stats in listed],
        stats={saved.id: stats for saved, stats in listed},
        reasons=REASONS,
        disabled_reasons=DISABLED_REASONS,
    )


@router.get("/webhooks/new")
async def new_page(request: Request, visitor: AdminDep) -> Response:
    return await _form_page(request, visitor, saved=None, values=values_of(None))


async def _save(request: Request, visitor: Visitor, saved: SavedWebhook | None) -> Response:
    """Create (``saved`` None) or replace a webhook from the posted form; a refusal (of the
    form or of the use case) shows the form again with the errors at their fields."""
    rt = runtime_of(request)
    form = await request.form()
    try:
        parsed = await _read(request, visitor, form, WebhookIn, saved)
        assert isinstance(parsed, WebhookIn)
        if saved is None:
            await webhooks.create(rt, visitor.account, parsed)
        else:
            await webhooks.replace(rt, visitor.account, saved.id, parsed)
    except (FormErrors, FlowhookError) as exc:
        errors, status = _refusal(exc)
        return await _form_again(request, visitor, saved, form, errors, status)
    return RedirectResponse("/webhooks", status_code=303)


@router.post("/webhooks")
async def create(request: Request, visitor: VisitorDep) -> Response:
    return await _save(request, visitor, None)


@router.post("/webhooks/check")
async def check_form(request: Request, visitor: VisitorDep) -> Response:
    """The Check button of the form: the form as it is now, nothing saved. An edit form
    sends its ``webhook_id``: secrets left as ``***`` are the saved ones."""
    rt = runtime_of(request)
    form = await request.form()
    webhook_id = form.get("webhook_id")
    saved = (
        await webhooks.get(rt, visitor.account, webhook_id)
        if isinstance(webhook_id, str) and webhook_id
        else None
    )
    result: CheckResult | None = None
    errors: dict[str, str] = {}
    try:
        parsed = await _read(request, visitor, form, CheckIn, saved)
        assert isinstance(parsed, CheckIn)
        if saved is not None:
            result = await webhooks.check_changes(rt, visitor.account, saved.id, parsed)
        else:
            result = await webhooks.check(rt, visitor.account, parsed)
    except (FormErrors, FlowhookError) as exc:
        errors, _status = _refusal(exc)
    status = 422 if errors else 200
    if is_htmx(request):
        return render(
            request,
            "webhooks/_check.html",
            status_code=status,
            result=result,
            errors=errors,
            reasons=REASONS,
        )
    return await _form_again(request, visitor, saved, form, errors, status, result)


@router.get("/webhooks/{webhook_id}")
async def edit_page(request: Request, webhook_id: str, visitor: VisitorDep) -> Response:
    """The form for an admin, the same fields read-only for a viewer (secrets are shown
    as stored: ``***``, and a password only as "set")."""
    saved = await webhooks.get(runtime_of(request), visitor.account, webhook_id)
    return await _form_page(request, visitor, saved=saved, values=values_of(saved))


@router.post("/webhooks/{webhook_id}")
async def replace(request: Request, webhook_id: str, visitor: VisitorDep) -> Response:
    saved = await webhooks.get(runtime_of(request), visitor.account, webhook_id)
    return await _save(request, visitor, saved)


@router.post("/webhooks/{webhook_id}/delete")
async def delete(request: Request, webhook_id: str, visitor: VisitorDep) -> Response:
    rt = runtime_of(request)
    saved = await webhooks.get(rt, visitor.account, webhook_id)
    try:
        await webhooks.delete(rt, visitor.account, saved.id)
    except FlowhookError as exc:
        return await _form_page(
            request,
            visitor,
            saved=saved,
            values=values_of(saved),
            errors={"_": exc.message},
            status_code=status_of(exc),
        )
    return RedirectResponse("/webhooks", status_code=303)


@router.post("/webhooks/{webhook_id}/enable")
async def enable(request: Request, webhook_id: str, visitor: VisitorDep) -> Response:
    """Enable a disabled webhook: its kept deliveries are sent again."""
    await webhooks.enable(runtime_of(request), visitor.account, webhook_id)
    return RedirectResponse(f"/webhooks/{webhook_id}", status_code=303)


@router.post("/webhooks/{webhook_id}/check")
async def check_saved(request: Request, webhook_id: str, visitor: VisitorDep) -> Response:
    """The list's Check button: checks the saved webhook and keeps the result."""
    rt = runtime_of(request)
    result = await webhooks.check_saved(rt, visitor.account, webhook_id)
    if is_htmx(request):
        return render(request, "webhooks/_check.html", result=result, errors={}, reasons=REASONS)
    return RedirectResponse("/webhooks", status_code=303)
